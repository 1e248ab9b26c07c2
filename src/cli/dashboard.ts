import { UsageError } from "../core/errors.ts";
import { queueDescription, queueSettings } from "../queue/settings.ts";
import { dashboardAccess } from "./dashboard-access.ts";
import { messages, setVerbosity, verbosityOf } from "./log.ts";
import { openPipeline, type GlobalOptions } from "./pipeline.ts";
import { stopSignal } from "./stop-signal.ts";

/**
 * Flags of `diskpipe dashboard`.
 *
 * @example
 * ```ts
 * const flags: DashboardFlags = { queue: "redis://queue.internal:6379", port: 8080 };
 * ```
 */
export interface DashboardFlags extends GlobalOptions {
  /** The queue's URL, or `true` (`--queue` alone): DISKPIPE_QUEUE, else the configuration's `queue.url`. */
  queue?: string | boolean;
  host?: string;
  port?: number;
  token?: string;
  quiet?: boolean;
  verbose?: boolean;
}

/**
 * `diskpipe dashboard --queue URL`: serves the dashboard over a shared queue (its jobs, their
 * workers, live progress, retry) until SIGINT or SIGTERM. Returns the exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await runDashboard({ queue: "redis://queue.internal:6379", port: 8080 });
 * ```
 */
export async function runDashboard(flags: DashboardFlags): Promise<number> {
  setVerbosity(verbosityOf(flags));
  if (!flags.queue)
    throw new UsageError(
      "diskpipe dashboard shows a queue: pass --queue URL (a spool's dashboard is diskpipe watch SPOOL --dashboard)",
    );
  const { host, token } = dashboardAccess(flags, true);
  const stop = stopSignal();
  const pipeline = await openPipeline(flags);
  const settings = queueSettings(typeof flags.queue === "string" ? flags.queue : undefined, pipeline.config.queue);
  const [{ createQueue }, { queueSource }, { serveDashboard }] = await Promise.all([
    import("../queue/queue.ts"),
    import("../dashboard/queue-source.ts"),
    import("../dashboard/serve-dashboard.ts"),
  ]);
  const queue = await createQueue(settings);
  let server: { url: string; close(): Promise<void> };
  try {
    server = await serveDashboard({ source: queueSource(queue, settings), token, hostname: host, port: flags.port });
  } catch (error) {
    await queue.close();
    throw error;
  }
  messages.info(`dashboard at ${server.url}${token ? " (token required)" : ""} for the ${queueDescription(settings)}`);
  const signal = await stop;
  messages.info(`${signal}: stopping`);
  await server.close();
  await queue.close();
  messages.info("stopped");
  return 0;
}
