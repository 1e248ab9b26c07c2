import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";

/**
 * The cookie the login form sets.
 *
 * @example
 * ```ts
 * import { getCookie } from "hono/cookie";
 * declare const c: Context; // a request's context
 * getCookie(c, SESSION_COOKIE);
 * ```
 */
export const SESSION_COOKIE = "diskpipe_session";

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

/**
 * Compares two secrets in constant time (both hashed first, so lengths never leak).
 *
 * @example
 * ```ts
 * declare const given: string, token: string;
 * sameSecret(given, token); // true or false, in the same time either way
 * ```
 */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/**
 * The session cookie's value for a token: an HMAC of it, so the cookie never holds the token.
 *
 * @example
 * ```ts
 * declare const c: Context, token: string;
 * c.header("set-cookie", `${SESSION_COOKIE}=${sessionValue(token)}; HttpOnly; SameSite=Strict; Path=/`);
 * ```
 */
export function sessionValue(token: string): string {
  return createHmac("sha256", token).update("diskpipe dashboard session v1").digest("base64url");
}

/**
 * Whether a request carries the token: `Authorization: Bearer TOKEN` or the login cookie.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * const app = new Hono();
 * app.get("/api/jobs", (c) => (isAuthorized(c, "s3cret") ? c.json([]) : c.json({ error: "unauthorized" }, 401)));
 * ```
 */
export function isAuthorized(c: Context, token: string): boolean {
  const header = c.req.header("authorization");
  // `.` stops at a line break, and a header value holds none: the capture runs to its end (trimmed already).
  const bearer = header && /^Bearer\s+(.+)/i.exec(header)?.[1];
  if (bearer) return sameSecret(bearer, token);
  const cookie = getCookie(c, SESSION_COOKIE);
  return cookie !== undefined && sameSecret(cookie, sessionValue(token));
}

/**
 * Requires the token on every route but `/login`: pages redirect to the login form, the API
 * answers 401.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * const app = new Hono();
 * app.use("*", requireToken("s3cret"));
 * ```
 */
export function requireToken(token: string): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.path === "/login" || isAuthorized(c, token)) return next();
    const wantsPage =
      c.req.method === "GET" &&
      !c.req.path.startsWith("/api/") &&
      c.req.header("accept")?.includes("text/html") === true;
    if (wantsPage) return c.redirect("/login", 303);
    c.header("www-authenticate", 'Bearer realm="diskpipe"');
    return c.json({ error: "unauthorized: send Authorization: Bearer TOKEN or sign in at /login" }, 401);
  };
}
