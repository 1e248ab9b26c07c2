import type { DashboardOptions } from "./app.ts";
import { isLoopback } from "./guard.ts";
import type { Served } from "./serve.ts";

/**
 * Options of {@link serveDashboard}: the dashboard's, and where to listen.
 *
 * @example
 * ```ts
 * const options: ServeDashboardOptions = { spool, hostname: "0.0.0.0", port: 8080, token: process.env.DISKPIPE_TOKEN };
 * ```
 */
export interface ServeDashboardOptions extends Omit<DashboardOptions, "loopbackOnly"> {
  /** Default 127.0.0.1. Any other address requires a token. */
  hostname?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
}

/**
 * Serves the dashboard of a spool (Hono and the Node server are loaded only when called).
 * Closing the server also ends its event streams.
 *
 * @example
 * ```ts
 * import { createPipeline, defaultConfig, serveDashboard, watchSpool } from "diskpipe";
 * const spool = await watchSpool({ root: "spool", pipeline: createPipeline(await defaultConfig()) });
 * const server = await serveDashboard({ spool, port: 8080, token: process.env.DISKPIPE_TOKEN });
 * console.log(server.url);
 * ```
 */
export async function serveDashboard(options: ServeDashboardOptions): Promise<Served> {
  const { hostname = "127.0.0.1", port = 8080, ...rest } = options;
  if (!isLoopback(hostname) && !rest.token) throw new Error(`serving the dashboard on ${hostname} requires a token`);
  const [{ createDashboard }, { serve }] = await Promise.all([import("./app.ts"), import("./serve.ts")]);
  const dashboard = createDashboard({ ...rest, loopbackOnly: isLoopback(hostname) });
  const server = await serve({ fetch: dashboard.app.fetch, hostname, port });
  return {
    ...server,
    close: async () => {
      dashboard.close();
      await server.close();
    },
  };
}
