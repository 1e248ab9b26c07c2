import { formatSize, parseSize } from "../core/size.ts";
import type { Pipeline } from "../core/pipeline.ts";
import type { DiskpipeQueue } from "../queue/queue.ts";
import { queueDescription, queueOptions } from "../queue/settings.ts";
import { dashboardAccess } from "./dashboard-access.ts";
import { createSpool } from "../spool/spool.ts";
import { messages, setVerbosity, verbosityOf } from "./log.ts";
import { openPipeline, type GlobalOptions } from "./pipeline.ts";
import { stopSignal } from "./stop-signal.ts";
import { spoolLogger } from "./watch-log.ts";

/**
 * Flags of `diskpipe watch`.
 *
 * @example
 * ```ts
 * const flags: WatchFlags = { dashboard: true, port: 8080, jobs: 2, poll: false };
 * ```
 */
export interface WatchFlags extends GlobalOptions {
  dashboard?: boolean;
  host?: string;
  port?: number;
  token?: string;
  poll?: boolean;
  maxUpload?: string;
  settle?: number;
  quiet?: boolean;
  verbose?: boolean;
  /** Run the jobs on a shared queue's workers: its URL, or `true` (`--queue` alone) for DISKPIPE_QUEUE or the configuration's `queue.url`. */
  queue?: string | boolean;
}

/**
 * `diskpipe watch SPOOL`: converts what lands in `SPOOL/incoming/<format>/` until SIGINT or
 * SIGTERM, optionally serving the dashboard. With `--queue` the spool claims and finishes the
 * files as always, but the conversions run on the queue's workers. Returns the exit code.
 *
 * @example
 * ```ts
 * await runWatch("/srv/spool", { dashboard: true, port: 8080 });
 * ```
 */
export async function runWatch(root: string, flags: WatchFlags): Promise<number> {
  setVerbosity(verbosityOf(flags));
  const { host, token } = dashboardAccess(flags, Boolean(flags.dashboard));
  const maxUpload = flags.maxUpload === undefined ? undefined : parseSize(flags.maxUpload);
  // Attached before anything starts, so a signal at any moment stops cleanly.
  const stop = stopSignal();
  const pipeline = await openPipeline(flags);
  const queue = flags.queue ? await openQueue(flags.queue, pipeline) : undefined;
  const executor = queue && (await import("../queue/spool-executor.ts")).queueExecutor(queue.queue);
  const spool = createSpool({
    root,
    pipeline,
    poll: flags.poll,
    settleMs: flags.settle,
    onEvent: spoolLogger(root, Boolean(flags.json)),
    ...(executor && { executor }),
  });
  try {
    await spool.start();
  } catch (error) {
    await queue?.queue.close();
    throw error;
  }
  const say = (line: string) => messages.info(line);
  const where = queue ? `run by the workers of ${queue.label}` : `at most ${pipeline.limit.size} at once`;
  say(`watching ${spool.layout.root}: drop files into incoming/<format>/ (${spool.targets().join(", ")}), ${where}`);

  let server: { url: string; close(): Promise<void> } | undefined;
  try {
    if (flags.dashboard) {
      const { serveDashboard } = await import("../dashboard/serve-dashboard.ts");
      // serveDashboard's own default port (8080) applies without --port.
      server = await serveDashboard({ spool, token, hostname: host, port: flags.port, maxUpload });
      say(
        `dashboard at ${server.url}${token ? " (token required)" : ""}${maxUpload !== undefined ? `, uploads up to ${formatSize(maxUpload)}` : ""}`,
      );
    }
  } catch (error) {
    await spool.stop();
    await queue?.queue.close();
    throw error;
  }

  const signal = await stop;
  const after = queue
    ? "the workers finish running jobs, and the next start collects them"
    : "running jobs are aborted and run again at the next start";
  say(`${signal}: stopping (${after}; ${signal} again to quit at once)`);
  await server?.close();
  await spool.stop();
  await queue?.queue.close();
  say("stopped");
  return 0;
}

/** The queue `--queue` names (`true`: DISKPIPE_QUEUE, else the configuration's), connected. */
async function openQueue(flag: string | true, pipeline: Pipeline): Promise<{ queue: DiskpipeQueue; label: string }> {
  const options = queueOptions(typeof flag === "string" ? flag : undefined, pipeline.config.queue);
  const { createQueue } = await import("../queue/queue.ts");
  return { queue: await createQueue(options), label: `the ${queueDescription(options)}` };
}
