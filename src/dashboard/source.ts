import type { SpoolJob } from "../spool/types.ts";

/**
 * A job as the dashboard shows it, whatever runs it: a spool's {@link SpoolJob}, or a queued job
 * mapped onto the same fields (then `source` and `output` are the job's locations, `claimedAt`
 * when it was submitted, `runs` its attempts), with the worker that runs or ran it.
 *
 * @example
 * ```ts
 * declare const job: DashboardJob;
 * console.log(job.state, job.worker ?? "this machine", job.timings.length);
 * ```
 */
export interface DashboardJob extends SpoolJob {
  /** The worker running it, or the last one that did (queue only). */
  worker?: string;
  /** The code of the attempt that failed, while the job waits to be tried again (queue only). */
  retrying?: string;
  /** What was not read from Redis for its size or shape, e.g. `failedReason: 52428800 bytes` (queue only). */
  omitted?: string[];
}

/**
 * One job of a source: `job` for the pages, `data` for the JSON API (a `SpoolJob` for a spool,
 * a `QueueJobView` for a queue).
 *
 * @example
 * ```ts
 * declare const entry: SourceEntry;
 * const body = JSON.stringify(entry.data);
 * ```
 */
export interface SourceEntry {
  job: DashboardJob;
  data: unknown;
}

/**
 * Jobs per state, as the counters show them.
 *
 * @example
 * ```ts
 * const counts: Counts = { queued: 1, running: 2, done: 10, failed: 0 };
 * ```
 */
export type Counts = Record<"queued" | "running" | "done" | "failed", number>;

/**
 * Where the dashboard's uploads go: `incoming/<format>/` of a spool.
 *
 * @example
 * ```ts
 * const target: UploadTarget = { incoming: "/srv/spool/incoming", targets: () => ["qcow2", "raw"] };
 * ```
 */
export interface UploadTarget {
  /** The folder holding one folder per target format. */
  incoming: string;
  /** The formats a file can be uploaded for. */
  targets(): string[];
}

/**
 * What the dashboard shows and acts on: a spool ({@link spoolSource}) or a shared queue
 * ({@link queueSource}). Everything a source returns about a queued job came from Redis, which
 * whoever can write the queue controls: sources check its shape, and pages escape every value.
 *
 * @example
 * ```ts
 * declare const source: JobSource;
 * const off = source.on((entry) => console.log(entry.job.id, entry.job.state));
 * console.log(await source.counts());
 * off();
 * ```
 */
export interface JobSource {
  /** `spool` or `queue`: what the pages call things (a claimed file, a submitted job). */
  readonly kind: "spool" | "queue";
  /** What the header shows: the spool's folder, or the queue (never with its password). */
  readonly label: string;
  /** Whether `id` can name a job of this source (anything else is answered 400). */
  isJobId(id: string): boolean;
  /** A location as shown (a spool shows paths relative to its folder). */
  show(location: string): string;
  /** Jobs, newest first (a queue shows its most recent ones per state). */
  list(): Promise<SourceEntry[]>;
  get(id: string): Promise<SourceEntry | undefined>;
  counts(): Promise<Counts>;
  /** Runs a failed job again; a DiskpipeError `usage` (answered 409) for a job in any other state. */
  retry(id: string): Promise<SourceEntry>;
  /** Calls `listener` with a job each time it changes state or makes progress; returns the unsubscribe function. */
  on(listener: (entry: SourceEntry) => void): () => void;
  /** Where uploads go; a source without it has no upload form and answers `POST /upload` with 404. */
  readonly uploads?: UploadTarget;
}

/**
 * Counts jobs per state.
 *
 * @example
 * ```ts
 * declare const jobs: DashboardJob[];
 * countJobs(jobs); // { queued: 1, running: 2, done: 10, failed: 1 }
 * ```
 */
export function countJobs(jobs: readonly { state: string }[]): Counts {
  const counts: Counts = { queued: 0, running: 0, done: 0, failed: 0 };
  for (const job of jobs) if (job.state in counts) counts[job.state as keyof Counts]++;
  return counts;
}
