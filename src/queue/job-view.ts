import type { DiskpipeError } from "../core/errors.ts";
import type { JobResult } from "../core/job.ts";
import { redactLocation } from "../core/redact.ts";
import { failureOf } from "./failure.ts";
import { journalOf, type JournalEntry } from "./journal.ts";
import type { QueueProgress } from "./progress.ts";
import { boundedText, fromRedis } from "./redis-values.ts";

/**
 * A queued job as the queue shows it: state, what it asks (locations redacted), the worker and
 * progress, attempts, and its result or error.
 *
 * @example
 * ```ts
 * declare const queue: DiskpipeQueue;
 * const view = await queue.job("dp-4f1c2e9a0b7d3c5e6f708192");
 * if (view?.state === "failed") console.error(view.error?.code);
 * ```
 */
export interface QueueJobView {
  id: string;
  state: "waiting" | "active" | "delayed" | "completed" | "failed" | "unknown";
  source?: string;
  destination?: string;
  to?: string;
  submittedAt: number;
  finishedAt?: number;
  /** Attempts started so far. */
  attempts: number;
  worker?: string;
  progress?: QueueProgress;
  result?: JobResult;
  /** Why it failed; for a `delayed` job, why the attempt before the coming retry failed. */
  error?: ReturnType<DiskpipeError["toJSON"]>;
  journal: JournalEntry[];
  /** What was not read from Redis for being too long or malformed (`failedReason: 52428800 bytes`, the journal's older lines). */
  omitted?: string[];
}

/**
 * The fields of a job a view is made of: a BullMQ `Job`, or what `readJobBounded` (bounded-read.ts) read.
 *
 * @example
 * ```ts
 * const fields: JobFields = { id: "dp-1", data: { v: 1 }, progress: 0, timestamp: Date.now(), attemptsMade: 0 };
 * ```
 */
export interface JobFields {
  id?: string;
  data: unknown;
  progress: unknown;
  timestamp: number;
  attemptsMade: number;
  attemptsStarted?: number;
  finishedOn?: number;
  returnvalue?: unknown;
  failedReason?: string;
  omitted?: string[];
}

/**
 * The view of a BullMQ job. Whatever it holds was written by whoever can write the queue, so
 * text is made safe to print and locations lose their credentials.
 *
 * @example
 * ```ts
 * import type { Job, Queue } from "bullmq";
 * declare const queue: Queue, job: Job, id: string;
 * const view = viewOf(job, await job.getState(), (await queue.getJobLogs(id)).logs);
 * ```
 */
export function viewOf(job: JobFields, state: string, logs: readonly string[]): QueueJobView {
  const spec = (job.data as { spec?: Record<string, unknown> } | undefined)?.spec;
  // A message's locations are at most 4096 characters: a longer one (a hostile writer's) is shown cut.
  const text = (value: unknown) => (typeof value === "string" ? boundedText(redactLocation(value)) : undefined);
  // Written by whoever can write the queue: shown only as its checked, bounded, escaped copy.
  const progress = fromRedis.progress(job.progress);
  const journal = journalOf(logs);
  const known = ["waiting", "active", "delayed", "completed", "failed"] as const;
  const view: QueueJobView = {
    id: job.id ?? "",
    state:
      known.find((s) => s === state) ??
      (state === "prioritized" || state === "waiting-children" ? "waiting" : "unknown"),
    submittedAt: job.timestamp,
    attempts: job.attemptsStarted ?? job.attemptsMade,
    journal,
  };
  const source = text(spec?.source);
  const destination = text(spec?.destination);
  const to = text(spec?.to);
  if (source) view.source = source;
  if (destination) view.destination = destination;
  if (to) view.to = to;
  if (job.finishedOn) view.finishedAt = job.finishedOn;
  const worker = progress?.worker ?? journal.at(-1)?.worker;
  if (worker) view.worker = boundedText(worker, 256);
  if (progress) view.progress = progress;
  const result = view.state === "completed" ? fromRedis.result(job.returnvalue) : undefined;
  if (result) view.result = result;
  // A delayed job with a reason is waiting to be tried again after that failure.
  const reasonOmitted = job.omitted?.find((what) => what.startsWith("failedReason:"));
  const reason = reasonOmitted
    ? `the reason was not read (${reasonOmitted.slice("failedReason: ".length)})`
    : job.failedReason;
  if (view.state === "failed" || (view.state === "delayed" && reason)) view.error = failureOf(reason).toJSON();
  if (job.omitted?.length) view.omitted = [...job.omitted];
  return view;
}
