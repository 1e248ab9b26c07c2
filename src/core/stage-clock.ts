import { toDiskpipeError } from "./errors.ts";
import type { JobEvent, JobResult, Stage } from "./job.ts";
import type { RunningJob } from "./job-context.ts";

/**
 * The one way a job's stage runs: marked as the job's current stage, announced and timed
 * with `stage-start` and `stage-end` events, and its timing kept for the job's result.
 *
 * @example
 * ```ts
 * import { resolveHandler } from "./stages/resolve.ts";
 * import type { FormatRegistry } from "./formats.ts";
 * declare const job: RunningJob, formats: FormatRegistry, emit: (event: JobEvent) => void;
 * const clock = new StageClock(job, emit);
 * const handler = await clock.run("resolve", () => resolveHandler(job.spec, formats));
 * await clock.cleanup();
 * clock.timings; // [{ stage: "resolve", ms: 0.4 }, { stage: "cleanup", ms: 1.2 }]
 * ```
 */
export class StageClock {
  readonly timings: JobResult["timings"] = [];
  readonly #job: RunningJob;
  readonly #emit: (event: JobEvent) => void;

  constructor(job: RunningJob, emit: (event: JobEvent) => void) {
    this.#job = job;
    this.#emit = emit;
  }

  /** Runs a stage of work; an aborted job stops before it, and its error names the stage. */
  async run<T>(stage: Stage, work: () => T | Promise<T>): Promise<T> {
    this.#job.stage = stage;
    this.#job.signal.throwIfAborted();
    return this.#timed(stage, async () => {
      try {
        return await work();
      } catch (error) {
        throw toDiskpipeError(error, "io-failed", { stage });
      }
    });
  }

  /** The last stage: the job's cleanups, run whether the job succeeded, failed or was aborted. */
  cleanup(): Promise<void> {
    this.#job.stage = "cleanup";
    return this.#timed("cleanup", () => this.#job.runCleanups());
  }

  async #timed<T>(stage: Stage, work: () => Promise<T>): Promise<T> {
    const jobId = this.#job.id;
    this.#emit({ type: "stage-start", jobId, stage, at: Date.now() });
    const started = performance.now();
    try {
      return await work();
    } finally {
      const ms = performance.now() - started;
      this.timings.push({ stage, ms });
      this.#emit({ type: "stage-end", jobId, stage, ms });
    }
  }
}
