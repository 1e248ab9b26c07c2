import { basename } from "node:path";
import type { JobEvent, Stage } from "../../core/job.ts";
import { escapeControl } from "../../core/redact.ts";

/**
 * Where one running job is: its current stage and, when that stage reports it, the bytes done,
 * the stage's total, the average rate and the seconds left.
 *
 * @example
 * ```ts
 * const row: JobRow = { id: "j1", name: "disk.vmdk", stage: "convert", bytes: 512, total: 1024, rate: 256, eta: 2 };
 * ```
 */
export interface JobRow {
  id: string;
  /** The source's base name, control characters escaped. */
  name: string;
  stage: Stage;
  bytes?: number;
  total?: number;
  /** Bytes per second since the stage began. */
  rate?: number;
  /** Seconds left in this stage at that rate. */
  eta?: number;
}

/**
 * The whole batch: jobs finished of all queued, the share of the work done, the summed rate of
 * the running jobs and the seconds left.
 *
 * @example
 * ```ts
 * const overall: Overall = { jobs: 8, done: 3, failed: 1, fraction: 0.42, rate: 310e6, eta: 130 };
 * ```
 */
export interface Overall {
  jobs: number;
  /** Finished well. */
  done: number;
  failed: number;
  /** 0 to 1: each job counts fetching as its first half and converting as its second. */
  fraction: number;
  rate: number;
  /** From the time spent so far and {@link fraction}; undefined until there is enough to go on. */
  eta?: number;
}

interface JobState extends JobRow {
  /** How far this job is, 0 to 1, as {@link Overall.fraction} counts it. */
  fraction: number;
  started: boolean;
}

const AFTER_FETCH = new Set<Stage>([
  "unpack",
  "inspect",
  "verify",
  "prepare",
  "preConvert",
  "convert",
  "postConvert",
  "upload",
  "cleanup",
]);
const AFTER_CONVERT = new Set<Stage>(["postConvert", "upload", "cleanup"]);
/** Below this share done, or this many seconds in, an overall ETA would be a guess. */
const MIN_FRACTION = 0.01;
const MIN_SECONDS = 1;

/**
 * Follows a pipeline's job events and answers what a progress display shows: the running jobs
 * in the order they were queued, and the batch as a whole.
 *
 * @example
 * ```ts
 * declare const specs: JobSpec[];
 * const board = new ProgressBoard(specs.length);
 * pipeline.on((event) => board.update(event));
 * console.log(board.running(), board.overall());
 * ```
 */
export class ProgressBoard {
  readonly #jobs = new Map<string, JobState>();
  #queued = 0;
  #done = 0;
  #failed = 0;
  #startedAt: number | undefined;

  /**
   * @param expected how many jobs the batch holds (a job is only queued once it may start)
   * @param now a clock in milliseconds
   */
  constructor(
    readonly expected = 0,
    readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes one job event; returns the job's name (its id if it was never queued). */
  update(event: JobEvent): string {
    if (event.type === "queued") {
      this.#queued++;
      this.#startedAt ??= this.now();
      this.#jobs.set(event.jobId, {
        id: event.jobId,
        name: escapeControl(basename(event.spec.source)),
        stage: "resolve",
        fraction: 0,
        started: false,
      });
    }
    const job = this.#jobs.get(event.jobId);
    if (!job) return event.jobId;
    if (event.type === "stage-start") {
      Object.assign(job, {
        stage: event.stage,
        started: true,
        bytes: undefined,
        total: undefined,
        rate: undefined,
        eta: undefined,
      });
      if (AFTER_FETCH.has(event.stage)) job.fraction = Math.max(job.fraction, 0.5);
      if (AFTER_CONVERT.has(event.stage)) job.fraction = 1;
    } else if (event.type === "progress") {
      const { bytes, total, rate } = event;
      const eta = total !== undefined && rate ? Math.max(0, (total - bytes) / rate) : undefined;
      Object.assign(job, { stage: event.stage, started: true, bytes, total, rate, eta });
      const share = total ? Math.min(1, bytes / total) / 2 : 0;
      if (event.stage === "fetch") job.fraction = Math.max(job.fraction, share);
      if (event.stage === "convert") job.fraction = Math.max(job.fraction, 0.5 + share);
    } else if (event.type === "done" || event.type === "failed") {
      if (event.type === "done") this.#done++;
      else this.#failed++;
      this.#jobs.delete(event.jobId);
    }
    return job.name;
  }

  /** The jobs that have begun and not ended, oldest first. */
  running(): JobRow[] {
    return [...this.#jobs.values()].filter((job) => job.started).map(({ fraction: _f, started: _s, ...row }) => row);
  }

  /** The batch as a whole, now. */
  overall(): Overall {
    const jobs = Math.max(this.expected, this.#queued);
    const finished = this.#done + this.#failed;
    let work = finished;
    let rate = 0;
    for (const job of this.#jobs.values()) {
      work += job.fraction;
      rate += job.rate ?? 0;
    }
    const fraction = jobs ? Math.min(1, work / jobs) : 0;
    const seconds = this.#startedAt === undefined ? 0 : (this.now() - this.#startedAt) / 1000;
    const eta =
      fraction >= MIN_FRACTION && seconds >= MIN_SECONDS && fraction < 1
        ? (seconds * (1 - fraction)) / fraction
        : undefined;
    return { jobs, done: this.#done, failed: this.#failed, fraction, rate, ...(eta !== undefined && { eta }) };
  }
}
