import type { JobType, Queue, QueueEvents } from "bullmq";
import type { Redis } from "ioredis";
import { DiskpipeError } from "../core/errors.ts";
import type { JobEvent, JobResult, Stage } from "../core/job.ts";
import { Listeners } from "../core/listeners.ts";
import { LIST_FIELD_LIMITS, LOG_LIMITS, readJobBounded } from "./bounded-read.ts";
import { closeRedis, connectRedis } from "./connection.ts";
import { failureOf } from "./failure.ts";
import { jobIdFor } from "./job-id.ts";
import { bullQueueClasses } from "./load.ts";
import { viewOf, type QueueJobView } from "./job-view.ts";
import { messageFor, type QueueSpec } from "./message.ts";
import { eventsOf } from "./progress.ts";
import {
  DEFAULT_ATTEMPTS,
  DEFAULT_BACKOFF_MS,
  DEFAULT_PREFIX,
  DEFAULT_QUEUE_NAME,
  type QueueSettings,
} from "./settings.ts";

/** What {@link createQueue} takes. */
export interface QueueOptions extends QueueSettings {
  /** Attempts of a job failing with a transport or I/O error (default 3; workers cap it with their own). */
  attempts?: number;
  /** First pause before a retry, in ms, doubled each time (default 5000). */
  backoffMs?: number;
}

/**
 * A change on the queue, as any machine sees it.
 *
 * @example
 * ```ts
 * declare const queue: DiskpipeQueue;
 * queue.events.on((e: QueueEvent) => e.type === "progress" && console.log(e.jobId, e.progress));
 * ```
 */
export type QueueEvent =
  | { type: "waiting" | "active" | "delayed" | "completed" | "failed" | "removed"; jobId: string }
  | { type: "progress"; jobId: string; progress: unknown };

/** What {@link Queue.submit} did: queued a new job, found the same job already there, or retried it after a failure. */
export interface Submitted {
  id: string;
  outcome: "added" | "exists" | "retried";
}

/**
 * A diskpipe queue on Redis, for submitting jobs and following them.
 *
 * @example
 * ```ts
 * const queue = await createQueue({ url: "redis://queue:6379" });
 * const { id } = await queue.submit({ source: "https://h/a.vmdk", destination: "/shared/out/a.qcow2", to: "qcow2" });
 * const result = await queue.wait(id);
 * await queue.close();
 * ```
 */
export interface DiskpipeQueue {
  /** Queues a job (validated as a worker will); the same spec again, or the same `id`, adds nothing while the queue knows the job. */
  submit(spec: QueueSpec, options?: { id?: string }): Promise<Submitted>;
  /** A job's state, progress, result or error; undefined when the queue does not know it. */
  job(id: string): Promise<QueueJobView | undefined>;
  /** The most recent jobs of each state (at most `limit` per state, default 100), newest first, without their journals. */
  list(limit?: number): Promise<QueueJobView[]>;
  /** How many jobs are in each state. */
  counts(): Promise<QueueCounts>;
  /** Runs a failed job again (a `usage` error for a job in any other state, or one the queue does not know). */
  retry(id: string): Promise<QueueJobView>;
  /**
   * Resolves with the job's result, or rejects with its error (a DiskpipeError with its code);
   * `onEvent` gets its stages and progress. Aborting `signal` stops waiting (the job goes on).
   */
  wait(id: string, onEvent?: (event: JobEvent) => void, options?: { signal?: AbortSignal }): Promise<JobResult>;
  /** Live changes of every job: `on(listener)` returns the unsubscribe function. */
  readonly events: { on(listener: (event: QueueEvent) => void): () => void };
  close(): Promise<void>;
}

/**
 * Connects to the queue at `url` (failing with `queue-unavailable` when Redis does not answer
 * within `connectTimeoutMs`). BullMQ is loaded only now.
 *
 * @example
 * ```ts
 * import { createQueue } from "diskpipe";
 * const queue = await createQueue({ url: process.env.DISKPIPE_QUEUE ?? "redis://127.0.0.1:6379" });
 * ```
 */
export async function createQueue(options: QueueOptions): Promise<DiskpipeQueue> {
  // Connecting goes on while BullMQ loads (a remote Redis answers meanwhile).
  const connecting = connectRedis(options.url, { timeoutMs: options.connectTimeoutMs });
  connecting.catch(() => undefined);
  const { Queue: BullQueue, QueueEvents: BullQueueEvents, Job: BullJob } = bullQueueClasses();
  const redis = await connecting;
  const name = options.queueName ?? DEFAULT_QUEUE_NAME;
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const queue: Queue = new BullQueue(name, { connection: redis, prefix });
  queue.on("error", () => {});
  const listeners = new Listeners<QueueEvent>();
  let events: Promise<QueueEvents> | undefined;
  let closing = false;
  const follow = () =>
    (events ??= (async () => {
      const emitter = new BullQueueEvents(name, { connection: redis, prefix, autorun: false });
      emitter.on("error", () => {});
      // An event BullMQ cannot parse (a queue writer's progress that is not JSON) ends its reading
      // loop: it starts again after the newest event, and waiting callers read the state meanwhile.
      const run = (): void => void emitter.run().catch(() => closing || setTimeout(run, EVENTS_RESTART_MS).unref());
      run();
      for (const type of ["waiting", "active", "delayed", "completed", "failed", "removed"] as const) {
        emitter.on(type, ({ jobId }: { jobId: string }) => listeners.emit({ type, jobId }));
      }
      emitter.on("progress", ({ jobId, data }: { jobId: string; data: unknown }) =>
        listeners.emit({ type: "progress", jobId, progress: data }),
      );
      await emitter.waitUntilReady();
      return emitter;
    })());

  // The state is read before the job: a job read first and then found finished would lack its result or reason.
  // The job is read within bounds (whoever can write the queue wrote it): never a whole 50 MB field or 100,000 log lines.
  const view = async (id: string) => {
    const state = await queue.getJobState(id);
    const found = await readJobBounded(redis, queue.qualifiedName, id, { lines: LOG_LIMITS.lines });
    if (!found) return undefined;
    const { job, logs, logCount } = found;
    if (logCount > logs.length) job.omitted.push(`journal: the newest ${logs.length} of ${logCount} lines`);
    return viewOf(job, state, logs);
  };

  // BullMQ's retry needs a Job, of which it uses the id and `opts.lifo` (never set by diskpipe): one made
  // here, rather than one read whole from Redis.
  const retryFailed = (id: string) => new BullJob(queue, "convert", {}, {}, id).retry("failed");

  return {
    async submit(spec, submitOptions = {}) {
      const message = messageFor(spec);
      const id = jobIdFor(message, submitOptions.id);
      // One command for a new job (a job's state is a script of about eight).
      if (await redis.exists(queue.toKey(id))) {
        if ((await queue.getJobState(id)) !== "failed") return { id, outcome: "exists" };
        await retryFailed(id);
        return { id, outcome: "retried" };
      }
      await queue.add("convert", message, {
        jobId: id,
        attempts: options.attempts ?? DEFAULT_ATTEMPTS,
        backoff: { type: "exponential", delay: options.backoffMs ?? DEFAULT_BACKOFF_MS },
      });
      return { id, outcome: "added" };
    },
    job: view,
    list: (limit) => listJobs(queue, redis, limit),
    async counts() {
      const n = await queue.getJobCounts(...WAITING, "active", "delayed", "completed", "failed");
      const sum = (states: readonly string[]) => states.reduce((total, state) => total + (n[state] ?? 0), 0);
      return {
        waiting: sum(WAITING),
        active: sum(["active"]),
        delayed: sum(["delayed"]),
        completed: sum(["completed"]),
        failed: sum(["failed"]),
      };
    },
    async retry(id) {
      const state = await queue.getJobState(id);
      if (state === "unknown") throw new DiskpipeError("usage", `the queue has no job ${id}`);
      if (state !== "failed")
        throw new DiskpipeError("usage", `job ${id} is ${state}: only a failed job can be retried`);
      await retryFailed(id);
      const retried = await view(id);
      if (!retried) throw new DiskpipeError("usage", `the queue has no job ${id}`);
      return retried;
    },
    async wait(id, onEvent, waitOptions = {}) {
      await follow();
      return waitFor(id, listeners, view, onEvent, waitOptions.signal);
    },
    events: {
      on(listener) {
        void follow();
        return listeners.on(listener);
      },
    },
    async close() {
      closing = true;
      if (events) await (await events).close();
      await queue.close();
      await closeRedis(redis);
    },
  };
}

/**
 * Jobs per state, as the queue counts them (`waiting` includes prioritized jobs and jobs waiting
 * for children; `delayed` are waiting for a retry's backoff).
 *
 * @example
 * ```ts
 * const counts: QueueCounts = { waiting: 3, active: 2, delayed: 0, completed: 120, failed: 1 };
 * ```
 */
export type QueueCounts = Record<"waiting" | "active" | "delayed" | "completed" | "failed", number>;

const WAITING: readonly JobType[] = ["waiting", "prioritized", "waiting-children"];

/** The newest jobs of each state, at most `limit` each, read within bounds; a job that moved between two reads shows once. */
async function listJobs(queue: Queue, redis: Redis, limit = 100): Promise<QueueJobView[]> {
  const end = Math.max(1, Math.min(limit, 1000)) - 1;
  const groups: Array<[string, readonly JobType[]]> = [
    ["active", ["active"]],
    ["waiting", WAITING],
    ["delayed", ["delayed"]],
    ["completed", ["completed"]],
    ["failed", ["failed"]],
  ];
  const seen = new Set<string>();
  const views: QueueJobView[] = [];
  for (const [state, types] of groups) {
    const ids = (await queue.getRanges([...types], 0, end, false)).filter((id) => id && !seen.has(id));
    const found = await Promise.all(
      ids.map((id) => readJobBounded(redis, queue.qualifiedName, id, { lines: 0, limits: LIST_FIELD_LIMITS })),
    );
    for (const [i, id] of ids.entries()) {
      const job = found[i]?.job;
      if (!job || seen.has(id)) continue;
      seen.add(id);
      views.push(viewOf(job, state, []));
    }
  }
  return views.sort((a, b) => b.submittedAt - a.submittedAt);
}

/** How long after BullMQ's event loop failed it starts again (ms). */
const EVENTS_RESTART_MS = 100;

/** How often a waiting caller reads the job's state besides following its events (ms). */
const RECHECK_MS = 2000;

/** Follows one job until it is completed or failed, turning its progress into pipeline events. */
function waitFor(
  id: string,
  listeners: Listeners<QueueEvent>,
  view: (id: string) => Promise<QueueJobView | undefined>,
  onEvent?: (event: JobEvent) => void,
  signal?: AbortSignal,
): Promise<JobResult> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    let stage: Stage | undefined;
    let checking = Promise.resolve();
    const check = () =>
      (checking = checking
        .then(async () => {
          const current = await view(id);
          if (!current) return finish(() => reject(new DiskpipeError("usage", `the queue has no job ${id}`)));
          if (current.state === "completed" && current.result)
            return finish(() => resolve(current.result as JobResult));
          if (current.state === "failed")
            return finish(() =>
              reject(failureOf(`${current.error?.message ?? ""} [${current.error?.code ?? "io-failed"}]`)),
            );
        })
        .catch(() => undefined));
    const unsubscribe = listeners.on((event) => {
      if (event.jobId !== id) return;
      if (event.type === "progress") {
        for (const e of eventsOf(id, event.progress, stage)) {
          if (e.type === "stage-start") stage = e.stage;
          onEvent?.(e);
        }
      } else void check();
    });
    // Events can be missed (Redis restarted between two reads): the state is also read every few seconds.
    const timer = setInterval(() => void check(), RECHECK_MS);
    const onAbort = () => finish(() => reject(signal?.reason));
    signal?.addEventListener("abort", onAbort, { once: true });
    let settled = false;
    const finish = (settle: () => void) => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      unsubscribe();
      signal?.removeEventListener("abort", onAbort);
      settle();
    };
    void check();
  });
}
