import type { MiddlewareHandler } from "hono";

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/**
 * Whether a host name is the loopback interface.
 *
 * @example
 * ```ts
 * isLoopback("127.0.0.1"); // true
 * ```
 */
export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function hostOf(origin: string): string | undefined {
  return URL.canParse(origin) ? new URL(origin).host : undefined;
}

/**
 * Refuses requests a browser could be tricked into sending: a `Host` that is not loopback when
 * the dashboard listens on loopback only (DNS rebinding), and cross-origin writes (CSRF). An
 * `Origin: null` write is served only with `Sec-Fetch-Site: same-origin` (the dashboard's own forms).
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * const app = new Hono();
 * app.use("*", requestGuard({ loopbackOnly: true }));
 * ```
 */
export function requestGuard(options: { loopbackOnly: boolean }): MiddlewareHandler {
  return async (c, next) => {
    const url = new URL(c.req.url);
    if (options.loopbackOnly && !isLoopback(url.hostname))
      return c.json({ error: "this dashboard answers on a loopback address only" }, 403);
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      const origin = c.req.header("origin");
      const site = c.req.header("sec-fetch-site");
      // The pages' own forms send `Origin: null` (their Referrer-Policy is no-referrer): Sec-Fetch-Site
      // then tells a same-origin form from a foreign page that hid its origin.
      const ownForm = origin === "null" && site === "same-origin";
      if (site === "cross-site" || (origin !== undefined && !ownForm && hostOf(origin) !== url.host)) {
        return c.json({ error: "cross-origin request refused" }, 403);
      }
    }
    return next();
  };
}

/**
 * Refuses any request whose path holds `..`, an encoded slash, backslash or dot, or a NUL:
 * no route takes a path, so such a URL is an attempt at traversal (400). Route parameters and
 * upload names are checked again where they are used.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * const app = new Hono();
 * app.use("*", refuseTraversal());
 * ```
 */
export function refuseTraversal(): MiddlewareHandler {
  return async (c, next) => {
    // URL parsing already resolved dot segments; on Node the request line as sent is still at hand.
    const sent = (c.env as { incoming?: { url?: string } } | undefined)?.incoming?.url;
    const raw = typeof sent === "string" ? sent.split("?")[0] : new URL(c.req.url).pathname;
    let decoded: string;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      return c.json({ error: "malformed path" }, 400);
    }
    if (/%(2f|5c|2e|00)/i.test(raw) || decoded.includes("..") || decoded.includes("\\") || decoded.includes("\0")) {
      return c.json({ error: "path traversal refused" }, 400);
    }
    return next();
  };
}
