import { DiskpipeError } from "../core/errors.ts";
import { answerWithin } from "../queue/connection.ts";
import type { QueueJobView } from "../queue/job-view.ts";
import type { DiskpipeQueue } from "../queue/queue.ts";
import { queueDescription } from "../queue/settings.ts";
import { dashboardJobOf } from "./queue-job.ts";
import type { JobSource, SourceEntry } from "./source.ts";

/** An id a queued job can have: a letter or digit, then letters, digits, `.`, `_`, `-` (BullMQ's generated ids are numbers). */
const QUEUE_JOB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** How long a page waits for Redis before answering 503 (a restarting Redis must not hang it). */
const REDIS_TIMEOUT_MS = 5000;

const entryOf = (view: QueueJobView): SourceEntry => ({ job: dashboardJobOf(view), data: view });

/**
 * Options of {@link queueSource}.
 *
 * @example
 * ```ts
 * const options: QueueSourceOptions = { url: "redis://queue.internal:6379", queueName: "diskpipe" };
 * ```
 */
export interface QueueSourceOptions {
  /** The queue's URL, shown in the header without its password. */
  url: string;
  queueName?: string;
  /** Jobs shown per state (default 100). */
  limit?: number;
}

/**
 * The dashboard's view of a shared queue: its most recent jobs with their worker, stage,
 * progress, timings and error, live from the queue's events, and retry of failed jobs. It takes
 * no uploads (a job's files live where the workers see them; watch a spool with `--queue` to
 * upload). A Redis that does not answer within 5 s fails the request with `queue-unavailable`.
 *
 * @example
 * ```ts
 * import { createQueue, queueSource } from "diskpipe";
 * const queue = await createQueue({ url: "redis://127.0.0.1:6379" });
 * const source = queueSource(queue, { url: "redis://127.0.0.1:6379" });
 * console.log(await source.counts());
 * ```
 */
export function queueSource(queue: DiskpipeQueue, options: QueueSourceOptions): JobSource {
  const label = queueDescription(options);
  return {
    kind: "queue",
    label,
    isJobId: (id) => QUEUE_JOB_ID.test(id),
    show: (location) => location,
    list: async () => (await bounded(queue.list(options.limit), label)).map(entryOf),
    get: async (id) => {
      const view = await bounded(queue.job(id), label);
      return view && entryOf(view);
    },
    async counts() {
      const n = await bounded(queue.counts(), label);
      return { queued: n.waiting + n.delayed, running: n.active, done: n.completed, failed: n.failed };
    },
    retry: async (id) => entryOf(await bounded(queue.retry(id), label)),
    on: (listener) => followJobs(queue, listener),
  };
}

/** Calls `listener` with each job that changed, read again from the queue (the newest state, once per burst of events). */
function followJobs(queue: DiskpipeQueue, listener: (entry: SourceEntry) => void): () => void {
  const pending = new Set<string>();
  let order = Promise.resolve();
  let closed = false;
  const off = queue.events.on((event) => {
    if (event.type === "removed" || pending.has(event.jobId)) return;
    pending.add(event.jobId);
    order = order.then(async () => {
      pending.delete(event.jobId);
      const view = closed ? undefined : await bounded(queue.job(event.jobId), "").catch(() => undefined);
      if (view && !closed) listener(entryOf(view));
    });
  });
  return () => {
    closed = true;
    off();
  };
}

function bounded<T>(work: Promise<T>, label: string): Promise<T> {
  return answerWithin(
    work,
    REDIS_TIMEOUT_MS,
    () => new DiskpipeError("queue-unavailable", `the ${label} did not answer within ${REDIS_TIMEOUT_MS / 1000} s`),
  );
}
