/**
 * The dashboard: a Hono app over a spool, and the runtime adapter that serves it.
 *
 * @example
 * ```ts
 * import { createDashboard, serve } from "./index.ts"; // not a package entry point: the CLI's `dashboard` uses it
 * const { app } = createDashboard({ spool });
 * await serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 8080 });
 * ```
 * @module
 */
export { createDashboard, type Dashboard, type DashboardOptions } from "./app.ts";
export { serve, type Served, type ServeOptions } from "./serve.ts";
/**
 * What a `job` event on `/api/events` carries.
 *
 * @example
 * ```ts
 * new EventSource("/api/events").addEventListener("job", (m) => console.log((JSON.parse(m.data) as LiveUpdate).counts));
 * ```
 */
export type { LiveUpdate } from "./live.ts";
