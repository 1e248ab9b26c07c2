import { lstat } from "node:fs/promises";
import { basename } from "node:path";
import { DiskpipeError, toDiskpipeError } from "../core/errors.ts";
import type { JobEvent, JobSpec } from "../core/job.ts";
import type { Pipeline } from "../core/pipeline.ts";
import { ActiveJobs } from "./active.ts";
import type { JobExecutor } from "./api.ts";
import { removeClaimed } from "./claim.ts";
import type { Failures } from "./failures.ts";
import { timestamp, type JournalEntry } from "./journal.ts";
import type { OutputNames } from "./output-names.ts";
import { nameProblem, type SpoolLayout } from "./paths.ts";
import { readSidecar, type Sidecar } from "./sidecar.ts";
import { applyEntry, applyPipelineEvent, factsOf } from "./state.ts";
import type { SpoolEvent, SpoolJob } from "./types.ts";
import { warnSpool } from "./warn.ts";

/**
 * What running jobs needs of the spool.
 *
 * @example
 * ```ts
 * declare const host: RunnerHost; // the spool's own rooms and callbacks
 * const runner = new JobRunner(host);
 * ```
 */
export interface RunnerHost {
  readonly layout: SpoolLayout;
  readonly pipeline: Pipeline;
  /** Runs the jobs: the pipeline, or a shared queue's workers. */
  readonly executor: JobExecutor;
  readonly jobs: Map<string, SpoolJob>;
  readonly outputs: OutputNames;
  readonly failures: Failures;
  /** Journals an entry. */
  append(entry: JournalEntry): Promise<void>;
  /** Journals an entry and applies it. */
  record(entry: JournalEntry): Promise<SpoolJob | undefined>;
  emit(event: SpoolEvent): void;
  /** Whether the spool is stopping (an aborted run is then queued again, not failed). */
  stopping(): boolean;
  /** The formats a file can be dropped for. */
  targets(): string[];
}

/**
 * Runs the spool's claimed jobs: each as an active task (see ActiveJobs) that converts it through
 * the pipeline and journals where it went: `running` when the pipeline starts it, then `done`,
 * `failed` (through Failures), or `queued` again when the spool stops under it.
 *
 * @example
 * ```ts
 * declare const host: RunnerHost, job: SpoolJob;
 * const runner = new JobRunner(host);
 * pipeline.on((event) => runner.onPipelineEvent(event));
 * runner.start(job);
 * await runner.idle(async () => {});
 * ```
 */
export class JobRunner {
  readonly #host: RunnerHost;
  readonly #active = new ActiveJobs();
  readonly #sidecars = new Map<string, Sidecar | undefined>();

  constructor(host: RunnerHost) {
    this.#host = host;
  }

  /** Runs a claimed job, or fails it at once when its name cannot be used. */
  start(job: SpoolJob): void {
    const problem = nameProblem(job.name);
    if (!problem) {
      this.track(job, (signal) => this.#run(job, signal));
      return;
    }
    const message = `the file name ${JSON.stringify(job.name)} cannot be used: ${problem}; rename it and drop it again`;
    this.fail(job, new DiskpipeError("usage", message, { stage: "claim" }));
  }

  /** Records a failure as the job's active task: tried again until recorded, stopped with the spool. */
  fail(job: SpoolJob, error: DiskpipeError): void {
    const record = this.#host.failures.fail(job, error);
    this.track(job, (signal) => record.untilDone(signal));
  }

  /** Runs `task` as the job's active work (idle() waits for it, abortAll() aborts it), then frees its output name. */
  track(job: SpoolJob, task: (signal: AbortSignal) => Promise<void>): void {
    this.#active.track(job.id, task, () => {
      if (job.output && job.state !== "queued") this.#host.outputs.release(basename(job.output), job.id);
    });
  }

  /** Journals `done`, then removes the claimed file: a crash in between leaves a step the next start repeats. */
  async finishDone(job: SpoolJob, entry: JournalEntry): Promise<void> {
    await this.#host.append(entry);
    await removeClaimed(job.source).catch((error: unknown) => {
      warnSpool(
        "DISKPIPE_SPOOL_CLEANUP",
        `job ${job.id} is done but its claimed file stays in work/ until the next start`,
        error,
      );
    });
    applyEntry(this.#host.jobs, entry, this.#host.layout);
    this.#host.emit({ type: "done", job });
  }

  /** Folds a pipeline event into its job; the pipeline's `queued` is the job's start: journaled `running`. */
  onPipelineEvent(event: JobEvent): void {
    const job = this.#host.jobs.get(event.jobId);
    const signal = this.#active.signal(event.jobId);
    if (!job || !signal) return;
    if (event.type === "queued") {
      if (signal.aborted) return;
      const sidecar = this.#sidecars.get(job.id);
      const entry: JournalEntry = {
        at: timestamp(),
        id: job.id,
        state: "running",
        run: job.runs + 1,
        ...(sidecar && { sidecar }),
      };
      applyEntry(this.#host.jobs, entry, this.#host.layout);
      this.#host
        .append(entry)
        .catch((error: unknown) =>
          warnSpool("DISKPIPE_SPOOL_JOURNAL", `cannot journal that job ${job.id} is running`, error),
        );
      this.#host.emit({ type: "running", job });
      return;
    }
    if (event.type === "done" || event.type === "failed") return;
    const kind = applyPipelineEvent(job, event);
    this.#host.emit({ type: "pipeline", job, event });
    if (kind === "progress") this.#host.emit({ type: "progress", job });
  }

  /** Resolves once no job is active; `settle` (pending claims) is awaited before each look. */
  idle(settle: () => Promise<void>): Promise<void> {
    return this.#active.idle(settle);
  }

  /** Aborts every active job with `reason` and waits until all have settled. */
  abortAll(reason: Error): Promise<void> {
    return this.#active.abortAll(reason);
  }

  /** Lets every idle() waiter look again. */
  wake(): void {
    this.#active.wake();
  }

  async #run(job: SpoolJob, signal: AbortSignal): Promise<void> {
    try {
      const spec = await this.#specOf(job, signal);
      const result = await this.#host.executor.run(spec, { id: job.id });
      await this.finishDone(job, { at: timestamp(), id: job.id, state: "done", result, ...factsOf(job) });
    } catch (error) {
      if (signal.aborted && this.#host.stopping()) {
        await this.#host.record({
          at: timestamp(),
          id: job.id,
          state: "queued",
          reason: "the spool stopped; the job runs again at the next start",
        });
        this.#host.emit({ type: "queued", job });
        return;
      }
      await this.#host.failures.fail(job, toDiskpipeError(error)).untilDone(signal);
    }
  }

  async #specOf(job: SpoolJob, signal: AbortSignal): Promise<JobSpec> {
    const { formats, config } = this.#host.pipeline;
    const known = () => this.#host.targets().join(", ");
    if (!formats.get(job.to)) {
      throw new DiskpipeError("usage", `unknown target format folder incoming/${job.to}/ (known: ${known()})`, {
        stage: "claim",
      });
    }
    if (!job.output)
      throw new DiskpipeError("usage", `qemu-img cannot write ${job.to}; drop files into one of: ${known()}`, {
        stage: "claim",
      });
    if (this.#host.outputs.wasTaken(job.id)) {
      throw new DiskpipeError(
        "usage",
        `done/${basename(job.output)} already exists or is being written; move it away, then retry`,
        { stage: "claim" },
      );
    }
    const stats = await lstat(job.source);
    if (!stats.isFile())
      throw new DiskpipeError("usage", `${job.name} is not a regular file (symbolic links and devices are refused)`, {
        stage: "claim",
      });
    const sidecar = job.hasSidecar ? await readSidecar(`${job.source}.json`, `${job.name}.json`) : undefined;
    this.#sidecars.set(job.id, sidecar);
    return {
      source: job.source,
      destination: job.output,
      to: job.to,
      ...(sidecar?.from && { from: sidecar.from }),
      ...(sidecar?.container && { container: sidecar.container }),
      ...(sidecar?.checksum && { checksum: sidecar.checksum }),
      ...(sidecar?.maxSize !== undefined && {
        maxSize: Math.min(sidecar.maxSize, config.maxSize ?? Number.POSITIVE_INFINITY),
      }),
      ...(sidecar?.options && { options: sidecar.options }),
      signal,
    };
  }
}
