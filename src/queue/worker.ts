import { realpath } from "node:fs/promises";
import { hostname } from "node:os";
import { isDiskpipeError } from "../core/errors.ts";
import type { JobEvent, JobResult } from "../core/job.ts";
import { Listeners } from "../core/listeners.ts";
import { Pipeline } from "../core/pipeline.ts";
import { safeText } from "../core/redact.ts";
import type { AllowList } from "./allow.ts";
import { LOG_LIMITS, readJobBounded } from "./bounded-read.ts";
import { commitRecorder } from "./commit-record.ts";
import { closeRedis, connectRedis } from "./connection.ts";
import { failureOf } from "./failure.ts";
import { DEFAULT_KEEP_COMPLETED, DEFAULT_KEEP_FAILED, keepJobsOf, type Retention } from "./retention.ts";
import { bullmq } from "./load.ts";
import { DEFAULT_ATTEMPTS, DEFAULT_PREFIX, DEFAULT_QUEUE_NAME, type QueueSettings } from "./settings.ts";

/** What {@link createWorker} takes. */
export interface WorkerOptions extends QueueSettings {
  /** The pipeline whose plugins and configuration the jobs run with (this worker's own `plugins.config.ts`). */
  pipeline: Pipeline;
  /** Jobs at once (default: the pipeline's `jobs`). */
  jobs?: number;
  /** The name jobs, logs and errors show for this worker (default `HOST-PID`). */
  name?: string;
  /** Where queued jobs may read and write (see {@link AllowList}); the configuration's `queue.allow` by default. */
  allow?: AllowList;
  /** The most attempts of a job failing with a transport or I/O error (default 3). */
  attempts?: number;
  /** How long a claim on a job lasts without renewal, in ms (default 30000). */
  lockMs?: number;
  /** How often to look for the jobs of dead workers, in ms (default 30000). */
  stalledMs?: number;
  /** Which completed jobs Redis keeps when this worker finishes one (default: the newest 1000, 7 days at most). */
  keepCompleted?: Retention;
  /** Which failed jobs Redis keeps when this worker fails one (default: the newest 5000, 30 days at most). */
  keepFailed?: Retention;
}

/**
 * What a worker reports: each job it takes, finishes, fails or gives back, its pipeline's
 * events, and problems with the queue (a lost connection) that it rides out.
 *
 * @example
 * ```ts
 * declare const worker: QueueWorker;
 * worker.on((e) => e.type === "failed" && console.error(e.jobId, e.error.code));
 * ```
 */
export type WorkerEvent =
  | { type: "active"; jobId: string }
  | { type: "completed"; jobId: string; result: JobResult }
  | { type: "failed"; jobId: string; error: { code: string; message: string }; willRetry: boolean }
  | { type: "pipeline"; event: JobEvent }
  | { type: "warning"; message: string };

/**
 * A running worker.
 *
 * @example
 * ```ts
 * const worker = await createWorker({ url: "redis://queue:6379", pipeline });
 * process.once("SIGTERM", () => void worker.close());
 * ```
 */
export interface QueueWorker {
  readonly name: string;
  /** Subscribes to the worker's events; returns the unsubscribe function. */
  on(listener: (event: WorkerEvent) => void): () => void;
  /** Stops taking jobs, aborts the running ones (qemu-img killed, partial output removed) and returns them to the queue. */
  close(): Promise<void>;
}

/**
 * Starts a worker: takes jobs from the queue at `url`, at most `jobs` at once, and runs each
 * through `pipeline`, until {@link QueueWorker.close}. Fails with `queue-unavailable` when
 * Redis does not answer within `connectTimeoutMs`; afterwards it reconnects by itself.
 *
 * @example
 * ```ts
 * import { createPipeline, createWorker, defaultConfig } from "diskpipe";
 * const worker = await createWorker({ url: process.env.DISKPIPE_QUEUE ?? "redis://127.0.0.1:6379", pipeline: createPipeline(await defaultConfig()), jobs: 2 });
 * ```
 */
export async function createWorker(options: WorkerOptions): Promise<QueueWorker> {
  const name = options.name ?? `${hostname()}-${process.pid}`;
  const queueName = options.queueName ?? DEFAULT_QUEUE_NAME;
  const base = options.pipeline;
  const jobs = options.jobs ?? base.config.jobs;
  const recorder = commitRecorder();
  const lockMs = options.lockMs ?? 30_000;
  const allow = await realAllowList(options.allow ?? base.config.queue?.allow);
  // Without the operator's list, a queued URL whose name resolves to this host (or its link-local neighbours) is refused at connect time too.
  const fetch = { ...base.config.fetch, refuseLocalHosts: base.config.fetch.refuseLocalHosts || allow === undefined };
  const pipeline = new Pipeline({ ...base.config, jobs, fetch, plugins: [...base.config.plugins, recorder.plugin] });
  const redis = await connectRedis(options.url, { timeoutMs: options.connectTimeoutMs, name });
  const { Queue, Worker } = bullmq();
  const { processJob } = await import("./process-job.ts");
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const queue = new Queue(queueName, { connection: redis, prefix });
  // Without a listener BullMQ prints each connection error with its stack; the worker's own listener reports them.
  queue.on("error", () => {});
  const listeners = new Listeners<WorkerEvent>();
  let stopping = false;
  const unsubscribe = pipeline.on((event) => listeners.emit({ type: "pipeline", event }));
  const worker = new Worker(
    queueName,
    (job, token, signal) =>
      processJob(job, token, signal, {
        pipeline,
        recorder,
        worker: name,
        allow,
        attempts: options.attempts ?? DEFAULT_ATTEMPTS,
        lockMs,
        // The newest lines only, each bounded: a journal has a few short lines per attempt, and whoever
        // can write the queue could add 100,000, or lines of 50 MB.
        logsOf: async (id) =>
          (await readJobBounded(redis, queue.qualifiedName, id, { lines: LOG_LIMITS.lines }))?.logs ?? [],
        stopping: () => stopping,
      }),
    {
      connection: redis,
      prefix,
      concurrency: jobs,
      name,
      lockDuration: lockMs,
      stalledInterval: options.stalledMs ?? 30_000,
      maxStalledCount: 1,
      removeOnComplete: keepJobsOf(options.keepCompleted ?? base.config.queue?.keepCompleted, DEFAULT_KEEP_COMPLETED),
      removeOnFail: keepJobsOf(options.keepFailed ?? base.config.queue?.keepFailed, DEFAULT_KEEP_FAILED),
      autorun: false,
    },
  );
  worker.on("error", (error) => listeners.emit({ type: "warning", message: `queue: ${safeText(error.message)}` }));
  worker.on("active", (job) => listeners.emit({ type: "active", jobId: job.id ?? "" }));
  worker.on("completed", (job, result: JobResult) =>
    listeners.emit({ type: "completed", jobId: job.id ?? "", result }),
  );
  worker.on("failed", (job, error) => {
    if (!job || error.name === "WaitingError") return;
    const failure = isDiskpipeError(error) ? error : failureOf(error.message);
    const willRetry = error.name !== "UnrecoverableError" && job.attemptsMade < (job.opts.attempts ?? 1);
    listeners.emit({
      type: "failed",
      jobId: job.id ?? "",
      error: { code: failure.code, message: failure.message },
      willRetry,
    });
  });
  void worker
    .run()
    .catch((error: Error) => listeners.emit({ type: "warning", message: `queue: ${safeText(error.message)}` }));
  await worker.waitUntilReady();

  let closing: Promise<void> | undefined;
  return {
    name,
    on: (listener) => listeners.on(listener),
    close() {
      closing ??= (async () => {
        stopping = true;
        const closed = worker.close();
        worker.cancelAllJobs("the worker is stopping");
        await closed;
        unsubscribe();
        await queue.close();
        await closeRedis(redis);
      })();
      return closing;
    },
  };
}

/** The allow-list with its directories resolved (links followed), as the paths they are compared with will be. */
async function realAllowList(allow: AllowList | undefined): Promise<AllowList | undefined> {
  if (!allow) return undefined;
  const real = (entries: readonly string[] | undefined) =>
    entries &&
    Promise.all(entries.map((entry) => (entry.startsWith("/") ? realpath(entry).catch(() => entry) : entry)));
  return { sources: await real(allow.sources), destinations: await real(allow.destinations) };
}
