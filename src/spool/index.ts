/**
 * The watched-folder spool: files dropped into `incoming/<format>/` are converted into `done/`
 * or moved to `failed/` with the reason, with an fsynced journal so a crash loses nothing.
 *
 * @example
 * ```ts
 * import { createPipeline, watchSpool } from "diskpipe";
 * const spool = await watchSpool({ root: "/srv/spool", pipeline: createPipeline() });
 * ```
 * @module
 */
import { createSpool, type Spool, type SpoolOptions } from "./spool.ts";

export { createSpool, type JobExecutor, type Spool, type SpoolOptions } from "./spool.ts";
/**
 * The spool's types: jobs, their states and errors, and the events it reports.
 *
 * @example
 * ```ts
 * import type { SpoolEvent } from "diskpipe";
 * const onEvent = (e: SpoolEvent) => e.type === "failed" && console.error(e.job.error?.code);
 * ```
 */
export type { SpoolError, SpoolEvent, SpoolJob, SpoolJobState, SpoolListener } from "./types.ts";
export { sidecarSchema, parseSidecar, type Sidecar } from "./sidecar.ts";
export { spoolLayout, isSafeName, type SpoolLayout } from "./paths.ts";
export type { SpoolWarningCode } from "./warn.ts";

/**
 * Creates a spool and starts it: the one-call form for scripts.
 *
 * @example
 * ```ts
 * import { createPipeline, defaultConfig, watchSpool } from "diskpipe";
 * const spool = await watchSpool({
 *   root: "spool",
 *   pipeline: createPipeline(await defaultConfig()),
 *   onEvent: (e) => e.type === "done" && console.log(e.job.output),
 * });
 * process.once("SIGINT", () => spool.stop());
 * ```
 */
export async function watchSpool(options: SpoolOptions): Promise<Spool> {
  const spool = createSpool(options);
  await spool.start();
  return spool;
}
