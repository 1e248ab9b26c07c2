/**
 * A running HTTP server.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * const app = new Hono();
 * const served: Served = await serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 });
 * console.log(served.port);
 * ```
 */
export interface Served {
  /** `http://host:port/` as it listens. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * What {@link serve} needs: a fetch handler and where to listen.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * const app = new Hono();
 * const options: ServeOptions = { fetch: app.fetch, hostname: "127.0.0.1", port: 8080 };
 * ```
 */
export interface ServeOptions {
  fetch: (request: Request) => Response | Promise<Response>;
  hostname: string;
  /** 0 picks a free port. */
  port: number;
}

interface DenoServer {
  shutdown(): Promise<void>;
}
interface DenoLike {
  serve(
    options: { hostname: string; port: number; onListen?: (addr: { hostname: string; port: number }) => void },
    handler: ServeOptions["fetch"],
  ): DenoServer;
}

function urlOf(hostname: string, port: number): string {
  return `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}/`;
}

/**
 * Serves a fetch handler: `Deno.serve` on Deno, `@hono/node-server` (loaded only then) on Node.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * const app = new Hono();
 * const server = await serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 8080 });
 * console.log(server.url);
 * await server.close();
 * ```
 */
export async function serve(options: ServeOptions): Promise<Served> {
  if ("Deno" in globalThis) {
    const deno = (globalThis as unknown as { Deno: DenoLike }).Deno;
    return new Promise((resolve) => {
      const server = deno.serve(
        {
          hostname: options.hostname,
          port: options.port,
          onListen: ({ port }) => resolve({ url: urlOf(options.hostname, port), port, close: () => server.shutdown() }),
        },
        options.fetch,
      );
    });
  }
  const { serve: nodeServe } = await import("@hono/node-server");
  return new Promise((resolve, reject) => {
    // The standard Request and Response stay: node-server's faster stand-ins break Hono's HEAD answers (500).
    const server = nodeServe(
      { fetch: options.fetch, hostname: options.hostname, port: options.port, overrideGlobalObjects: false },
      (info) => {
        resolve({
          url: urlOf(options.hostname, info.port),
          port: info.port,
          close: () =>
            new Promise<void>((done) => {
              server.close(() => done());
              (server as { closeAllConnections?: () => void }).closeAllConnections?.();
            }),
        });
      },
    );
    server.once("error", reject);
  });
}
