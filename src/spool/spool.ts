import { lstat, mkdir } from "node:fs/promises";
import { basename, join, relative, sep } from "node:path";
import { DiskpipeError, toDiskpipeError } from "../core/errors.ts";
import type { JobEvent, JobSpec } from "../core/job.ts";
import type { Pipeline } from "../core/pipeline.ts";
import { ActiveJobs } from "./active.ts";
import type { Spool, SpoolOptions } from "./api.ts";
import { removeClaimed } from "./claim.ts";
import { SpoolEvents } from "./events.ts";
import { Failures } from "./failures.ts";
import { claimFile, type IntakeHost } from "./intake.ts";
import { Journal, timestamp, type JournalEntry } from "./journal.ts";
import { takeLock } from "./lock.ts";
import { isIgnoredName, isSafeName, nameProblem, spoolLayout, type SpoolLayout } from "./paths.ts";
import { recoverJobs, removeTemporaryFiles, type RecoveryHost } from "./recovery.ts";
import { retryTarget, returnToIncoming } from "./retry.ts";
import { readSidecar, type Sidecar } from "./sidecar.ts";
import { applyEntry, applyPipelineEvent, factsOf } from "./state.ts";
import type { SpoolEvent, SpoolJob, SpoolListener } from "./types.ts";
import { startFailure, warnSpool } from "./warn.ts";
import { watchIncoming, type IncomingWatcher } from "./watcher.ts";

export type { Spool, SpoolOptions } from "./api.ts";

class SpoolImpl implements Spool {
  readonly layout: SpoolLayout;
  readonly #pipeline: Pipeline;
  readonly #options: SpoolOptions;
  readonly #jobs = new Map<string, SpoolJob>();
  readonly #active = new ActiveJobs();
  readonly #events = new SpoolEvents();
  /** Output names in `done/` that a claimed job will write. */
  readonly #reserved = new Map<string, string>();
  /** Jobs whose output name was already taken when they were claimed. */
  readonly #outputTaken = new Set<string>();
  readonly #sidecars = new Map<string, Sidecar | undefined>();
  readonly #failures: Failures;
  #claims: Promise<void> = Promise.resolve();
  #journal?: Journal;
  #watcher?: IncomingWatcher;
  #release?: () => Promise<void>;
  #unsubscribe?: () => void;
  #state: "stopped" | "starting" | "started" | "stopping" = "stopped";

  readonly events = { on: (listener: SpoolListener) => this.#events.on(listener) };

  constructor(options: SpoolOptions) {
    this.#options = options;
    this.#pipeline = options.pipeline;
    this.layout = spoolLayout(options.root);
    if (options.onEvent) this.#events.on(options.onEvent);
    this.#failures = new Failures({ layout: this.layout, jobs: this.#jobs, append: (entry) => this.#journal!.append(entry), emit: (event) => this.#emit(event) });
  }

  targets(): string[] {
    const formats = this.#pipeline.formats;
    return formats.names().filter((name) => formats.isWritable(name));
  }

  jobs(): SpoolJob[] {
    return [...this.#jobs.values()].sort((a, b) => (a.claimedAt < b.claimedAt ? 1 : a.claimedAt > b.claimedAt ? -1 : a.id < b.id ? 1 : -1));
  }

  job(id: string): SpoolJob | undefined {
    return this.#jobs.get(id);
  }

  idle(): Promise<void> {
    return this.#active.idle(() => this.#claims);
  }

  async start(): Promise<void> {
    if (this.#state !== "stopped") throw new DiskpipeError("usage", "the spool is already started");
    this.#state = "starting";
    const { layout } = this;
    try {
      for (const dir of [layout.incoming, layout.work, layout.done, layout.failed]) await mkdir(dir, { recursive: true });
      for (const target of this.targets()) await mkdir(join(layout.incoming, target), { recursive: true });
      this.#release = await takeLock(layout.lock);
      const { journal, entries } = await Journal.open(layout.journal);
      this.#journal = journal;
      for (const entry of entries) {
        if (entry.state === "queued" && entry.outputExisted) this.#outputTaken.add(entry.id);
        applyEntry(this.#jobs, entry, layout);
      }
      this.#unsubscribe = this.#pipeline.on((event) => this.#onPipelineEvent(event));
      await removeTemporaryFiles(layout);
      await recoverJobs([...this.#jobs.values()], this.#host());
      this.#state = "started";
      this.#watcher = await watchIncoming(layout.incoming, {
        poll: this.#options.poll,
        settleMs: this.#options.settleMs ?? 1000,
        onFile: (path) => this.#consider(path),
        onError: (error) => warnSpool("DISKPIPE_SPOOL_WATCHER", "the watcher reported an error", error),
      });
    } catch (error) {
      this.#state = "stopping";
      await this.#active.abortAll(new DiskpipeError("aborted", "the spool did not start"));
      await this.#shutdown();
      throw startFailure(layout.root, error);
    }
  }

  async stop(): Promise<void> {
    if (this.#state !== "started") return;
    this.#state = "stopping";
    await this.#watcher?.close();
    await this.#claims;
    await this.#active.abortAll(new DiskpipeError("aborted", "the spool is stopping"));
    await this.#shutdown();
  }

  async retry(id: string): Promise<SpoolJob> {
    const job = this.#jobs.get(id);
    if (!job) throw new DiskpipeError("usage", `no job ${id}`);
    if (this.#state !== "started") throw new DiskpipeError("usage", "the spool is not running");
    if (this.#failures.pending(id)) throw new DiskpipeError("usage", `the failure of job ${id} is still being recorded; retry it once its file is in failed/`);
    const target = await retryTarget(job, this.layout);
    const entry: JournalEntry = { at: timestamp(), id, state: "retried", incoming: relative(this.layout.root, target) };
    await this.#journal!.append(entry);
    await returnToIncoming(job, target);
    applyEntry(this.#jobs, entry, this.layout);
    this.#emit({ type: "retried", job });
    return job;
  }

  #emit(event: SpoolEvent): void {
    this.#events.emit(event);
  }

  async #record(entry: JournalEntry): Promise<SpoolJob | undefined> {
    await this.#journal!.append(entry);
    return applyEntry(this.#jobs, entry, this.layout);
  }

  async #shutdown(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    await this.#journal?.close().catch(() => {});
    this.#journal = undefined;
    await this.#release?.().catch((error: unknown) => warnSpool("DISKPIPE_SPOOL_CLEANUP", `cannot release the lock ${this.layout.lock}`, error));
    this.#release = undefined;
    this.#watcher = undefined;
    this.#reserved.clear();
    this.#state = "stopped";
    this.#active.wake();
  }

  /** What recovery and claims need of the spool. */
  #host(): RecoveryHost & IntakeHost {
    return {
      layout: this.layout,
      formats: this.#pipeline.formats,
      reserved: this.#reserved,
      outputTaken: this.#outputTaken,
      reserveOutput: (name, id) => this.#reserved.set(name, id),
      claiming: () => this.#state === "started",
      record: (entry) => this.#record(entry),
      emit: (event) => this.#emit(event),
      finishDone: (job, entry) => this.#finishDone(job, entry),
      start: (job) => this.#start(job),
      fail: (job, error) => this.#failLater(job, error),
      completeFailure: async (job, error) => {
        const record = this.#failures.resume(job, error);
        if (!(await record.attempt())) this.#track(job, (signal) => record.untilDone(signal));
      },
      returnToIncoming,
    };
  }

  #consider(path: string): void {
    if (this.#state !== "started") return;
    const parts = relative(this.layout.incoming, path).split(sep);
    if (parts.length !== 2) return;
    const [to, name] = parts;
    if (isIgnoredName(name) || !isSafeName(to)) return;
    this.#claims = this.#claims
      .then(() => claimFile(path, to, name, this.#host()))
      .catch((error: unknown) => warnSpool("DISKPIPE_SPOOL_CLAIM", `cannot claim ${JSON.stringify(relative(this.layout.root, path))}`, error));
  }

  /** Runs a claimed job, or fails it at once when its name cannot be used. */
  #start(job: SpoolJob): void {
    const problem = nameProblem(job.name);
    if (!problem) {
      this.#track(job, (signal) => this.#run(job, signal));
      return;
    }
    const message = `the file name ${JSON.stringify(job.name)} cannot be used: ${problem}; rename it and drop it again`;
    this.#failLater(job, new DiskpipeError("usage", message, { stage: "claim" }));
  }

  /** Records a failure as the job's active task: tried again until recorded, stopped with the spool. */
  #failLater(job: SpoolJob, error: DiskpipeError): void {
    const record = this.#failures.fail(job, error);
    this.#track(job, (signal) => record.untilDone(signal));
  }

  /** Runs `task` as the job's active work (idle() waits for it, stop() aborts it), then frees its output name. */
  #track(job: SpoolJob, task: (signal: AbortSignal) => Promise<void>): void {
    this.#active.track(job.id, task, () => {
      if (job.output && this.#reserved.get(basename(job.output)) === job.id && job.state !== "queued") this.#reserved.delete(basename(job.output));
    });
  }

  async #run(job: SpoolJob, signal: AbortSignal): Promise<void> {
    try {
      const spec = await this.#specOf(job, signal);
      const result = await this.#pipeline.run(spec, { id: job.id });
      await this.#finishDone(job, { at: timestamp(), id: job.id, state: "done", result, ...factsOf(job) });
    } catch (error) {
      if (signal.aborted && this.#state === "stopping") {
        await this.#record({ at: timestamp(), id: job.id, state: "queued", reason: "the spool stopped; the job runs again at the next start" });
        this.#emit({ type: "queued", job });
        return;
      }
      await this.#failures.fail(job, toDiskpipeError(error)).untilDone(signal);
    }
  }

  async #specOf(job: SpoolJob, signal: AbortSignal): Promise<JobSpec> {
    const formats = this.#pipeline.formats;
    if (!formats.get(job.to)) {
      throw new DiskpipeError("usage", `unknown target format folder incoming/${job.to}/ (known: ${this.targets().join(", ")})`, { stage: "claim" });
    }
    if (!job.output) throw new DiskpipeError("usage", `qemu-img cannot write ${job.to}; drop files into one of: ${this.targets().join(", ")}`, { stage: "claim" });
    if (this.#outputTaken.has(job.id)) {
      throw new DiskpipeError("usage", `done/${basename(job.output)} already exists or is being written; move it away, then retry`, { stage: "claim" });
    }
    const stats = await lstat(job.source);
    if (!stats.isFile()) throw new DiskpipeError("usage", `${job.name} is not a regular file (symbolic links and devices are refused)`, { stage: "claim" });
    const sidecar = job.hasSidecar ? await readSidecar(`${job.source}.json`, `${job.name}.json`) : undefined;
    this.#sidecars.set(job.id, sidecar);
    return {
      source: job.source,
      destination: job.output,
      to: job.to,
      ...(sidecar?.from && { from: sidecar.from }),
      ...(sidecar?.container && { container: sidecar.container }),
      ...(sidecar?.checksum && { checksum: sidecar.checksum }),
      ...(sidecar?.maxSize !== undefined && { maxSize: Math.min(sidecar.maxSize, this.#pipeline.config.maxSize ?? Number.POSITIVE_INFINITY) }),
      ...(sidecar?.options && { options: sidecar.options }),
      signal,
    };
  }

  #onPipelineEvent(event: JobEvent): void {
    const job = this.#jobs.get(event.jobId);
    const signal = this.#active.signal(event.jobId);
    if (!job || !signal) return;
    if (event.type === "queued") {
      if (signal.aborted) return;
      const sidecar = this.#sidecars.get(job.id);
      const entry: JournalEntry = { at: timestamp(), id: job.id, state: "running", run: job.runs + 1, ...(sidecar && { sidecar }) };
      applyEntry(this.#jobs, entry, this.layout);
      this.#journal?.append(entry).catch((error: unknown) => warnSpool("DISKPIPE_SPOOL_JOURNAL", `cannot journal that job ${job.id} is running`, error));
      this.#emit({ type: "running", job });
      return;
    }
    if (event.type === "done" || event.type === "failed") return;
    const kind = applyPipelineEvent(job, event);
    this.#emit({ type: "pipeline", job, event });
    if (kind === "progress") this.#emit({ type: "progress", job });
  }

  /** Journals `done`, then removes the claimed file: a crash in between leaves a step the next start repeats. */
  async #finishDone(job: SpoolJob, entry: JournalEntry): Promise<void> {
    await this.#journal!.append(entry);
    await removeClaimed(job.source).catch((error: unknown) => {
      warnSpool("DISKPIPE_SPOOL_CLEANUP", `job ${job.id} is done but its claimed file stays in work/ until the next start`, error);
    });
    applyEntry(this.#jobs, entry, this.layout);
    this.#emit({ type: "done", job });
  }
}

/**
 * Creates a watched-folder spool on top of a pipeline. Call `start()` to begin.
 *
 * @example
 * ```ts
 * import { createPipeline, createSpool, defaultConfig } from "diskpipe";
 * const spool = createSpool({
 *   root: "/srv/spool",
 *   pipeline: createPipeline(await defaultConfig()),
 *   onEvent: (e) => e.type === "done" && console.log("wrote", e.job.output),
 * });
 * await spool.start();
 * process.once("SIGTERM", () => spool.stop());
 * ```
 */
export function createSpool(options: SpoolOptions): Spool {
  return new SpoolImpl(options);
}
