import type { KeepJobs } from "bullmq";

/**
 * Which finished jobs Redis keeps (`queue.keepCompleted`, `queue.keepFailed`): the newest
 * `count`, and none finished more than `days` ago. A job removed takes its journal with it, and
 * the same job submitted again is then a new job.
 *
 * @example
 * ```ts
 * const keep: Retention = { count: 1000, days: 7 };
 * ```
 */
export interface Retention {
  count?: number;
  days?: number;
}

/** Completed jobs kept when the configuration says nothing: the newest 1000, a week at most. */
export const DEFAULT_KEEP_COMPLETED: Required<Retention> = { count: 1000, days: 7 };

/** Failed jobs kept when the configuration says nothing: the newest 5000, 30 days at most (they wait for an operator, and for Retry). */
export const DEFAULT_KEEP_FAILED: Required<Retention> = { count: 5000, days: 30 };

/**
 * BullMQ's form of a retention, the defaults filling what `keep` leaves out. BullMQ applies it
 * each time a job finishes (completed or failed): the jobs of that state beyond the count or
 * older than the age are removed then, with their journals.
 *
 * @example
 * ```ts
 * keepJobsOf({ days: 1 }, DEFAULT_KEEP_COMPLETED); // { count: 1000, age: 86400 }
 * ```
 */
export function keepJobsOf(keep: Retention | undefined, defaults: Required<Retention>): KeepJobs {
  const days = keep?.days ?? defaults.days;
  return { count: keep?.count ?? defaults.count, age: Math.max(1, Math.round(days * 86_400)) };
}
