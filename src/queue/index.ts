/**
 * The shared job queue: jobs submitted on any machine, run by workers on many, on Redis
 * through BullMQ (loaded only when a queue or worker is created).
 *
 * @example
 * ```ts
 * import { createQueue } from "diskpipe";
 * const queue = await createQueue({ url: "redis://queue.internal:6379" });
 * ```
 * @module
 */
export {
  createQueue,
  type DiskpipeQueue,
  type QueueCounts,
  type QueueEvent,
  type QueueOptions,
  type Submitted,
} from "./queue.ts";
export { queueExecutor } from "./spool-executor.ts";
export { createWorker, type QueueWorker, type WorkerEvent, type WorkerOptions } from "./worker.ts";
export type { AllowList } from "./allow.ts";
export type { QueueJobView } from "./job-view.ts";
export type { JournalEntry } from "./journal.ts";
export { messageSchema, type QueueMessage, type QueueSpec } from "./message.ts";
export type { QueueProgress } from "./progress.ts";
export type { QueueSettings } from "./settings.ts";
export type { Retention } from "./retention.ts";
