import { createRequire } from "node:module";
import type * as BullMQ from "bullmq";
import type * as IORedis from "ioredis";

const load = createRequire(import.meta.url);

/** BullMQ's classes a submitter, a dashboard or a watcher needs. */
export type BullQueueClasses = Pick<typeof BullMQ, "Queue" | "QueueEvents" | "Job">;

/**
 * BullMQ's `Queue`, `QueueEvents` and `Job` only, required (not imported) on first use. BullMQ and
 * ioredis are CommonJS: `import()` of them makes the ES module loader scan every file of the
 * package for its exports (about 150 ms of `cjs-module-lexer` at each `submit`, bench case 9), and
 * the package's index also loads the worker, the flow producer, the sandbox and the PostgreSQL
 * backend. Requiring the three class files skips both; should a later BullMQ move them, the whole
 * package is required instead (the same classes: Node caches a file once, whichever way it is reached).
 *
 * @example
 * ```ts
 * const { Queue } = bullQueueClasses();
 * const queue = new Queue("diskpipe", { connection: { host: "127.0.0.1", port: 6379 } });
 * ```
 */
export function bullQueueClasses(): BullQueueClasses {
  try {
    const { Queue } = load("bullmq/dist/cjs/classes/queue.js") as Pick<typeof BullMQ, "Queue">;
    const { QueueEvents } = load("bullmq/dist/cjs/classes/queue-events.js") as Pick<typeof BullMQ, "QueueEvents">;
    const { Job } = load("bullmq/dist/cjs/classes/job.js") as Pick<typeof BullMQ, "Job">;
    if (typeof Queue === "function" && typeof QueueEvents === "function" && typeof Job === "function")
      return { Queue, QueueEvents, Job };
  } catch {
    // A BullMQ laid out differently: its index has them.
  }
  return bullmq();
}

/**
 * All of BullMQ (a worker needs `Worker` and its errors), required on first use.
 *
 * @example
 * ```ts
 * const { Worker, UnrecoverableError } = bullmq();
 * ```
 */
export function bullmq(): typeof BullMQ {
  return load("bullmq") as typeof BullMQ;
}

/**
 * ioredis's client class, required on first use (see {@link bullQueueClasses} for why not `import()`).
 *
 * @example
 * ```ts
 * const RedisClient = ioredis();
 * const redis = new RedisClient("redis://127.0.0.1:6379", { lazyConnect: true });
 * ```
 */
export function ioredis(): typeof IORedis.Redis {
  return (load("ioredis") as typeof IORedis).Redis;
}
