import { queueLabel } from "../queue/connection.ts";
import { queueSettings } from "../queue/settings.ts";
import { escapeControl } from "../core/redact.ts";
import { messages, setVerbosity, verbosityOf } from "./log.ts";
import { openPipeline, type GlobalOptions } from "./pipeline.ts";
import { stopSignal } from "./stop-signal.ts";

/**
 * Flags of `diskpipe worker`.
 *
 * @example
 * ```ts
 * const flags: WorkerFlags = { queue: "redis://queue:6379", jobs: 2, name: "convert-7" };
 * ```
 */
export interface WorkerFlags extends GlobalOptions {
  queue?: string;
  name?: string;
  allow?: string[];
  quiet?: boolean;
  verbose?: boolean;
}

/**
 * `diskpipe worker`: runs queued jobs with this machine's configuration until SIGINT or
 * SIGTERM, then stops taking jobs, aborts the running ones (their partial output removed) and
 * returns them to the queue; exits 0. Returns the exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await runWorker({ queue: "redis://queue:6379", jobs: 2 });
 * ```
 */
export async function runWorker(flags: WorkerFlags): Promise<number> {
  setVerbosity(verbosityOf(flags));
  // Attached before anything starts, so a signal at any moment stops cleanly; a second one quits
  // at once, as safe as a crash: the jobs' locks expire and other workers take them over.
  const stop = stopSignal();
  const pipeline = await openPipeline(flags);
  const config = pipeline.config.queue;
  const settings = queueSettings(flags.queue, config);
  const { createWorker } = await import("../queue/worker.ts");
  const worker = await createWorker({
    ...settings,
    pipeline,
    ...(flags.jobs && { jobs: flags.jobs }),
    ...(flags.name && { name: flags.name }),
    ...(flags.allow?.length ? { allow: { sources: flags.allow, destinations: flags.allow } } : {}),
    ...(config?.attempts && { attempts: config.attempts }),
    ...(config?.lockMs && { lockMs: config.lockMs }),
    ...(config?.stalledMs && { stalledMs: config.stalledMs }),
  });
  const json = Boolean(flags.json);
  worker.on((event) => {
    if (json && event.type !== "pipeline") process.stdout.write(`${JSON.stringify(event)}\n`);
    if (event.type === "active") messages.info(`${event.jobId}: started`);
    else if (event.type === "completed")
      messages.info(
        `${event.jobId}: done, ${escapeControl(event.result.source)} -> ${escapeControl(event.result.destination)}`,
      );
    else if (event.type === "failed")
      messages.error(
        `${event.jobId}: failed${event.willRetry ? " (will be retried)" : ""}: ${event.error.message} [${event.error.code}]`,
      );
    else if (event.type === "warning") messages.warn(`warning: ${event.message}`);
    else if (event.event.type === "stage-end")
      messages.debug(`${event.event.jobId}: ${event.event.stage} took ${event.event.ms.toFixed(0)} ms`);
  });
  messages.info(
    `worker ${escapeControl(worker.name)} taking jobs from ${queueLabel(settings.url)} (queue ${settings.queueName ?? "diskpipe"}), at most ${flags.jobs ?? pipeline.config.jobs} at once`,
  );
  const signal = await stop;
  messages.info(
    `${signal}: stopping (running jobs are aborted and go back to the queue; ${signal} again to quit at once)`,
  );
  await worker.close();
  messages.info("stopped");
  return 0;
}
