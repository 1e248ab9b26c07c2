import { mkdir } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { DiskpipeError } from "../core/errors.ts";
import type { Pipeline } from "../core/pipeline.ts";
import type { JobExecutor, Spool, SpoolOptions } from "./api.ts";
import { SpoolEvents } from "./events.ts";
import { Failures } from "./failures.ts";
import { claimFile, type IntakeHost } from "./intake.ts";
import { Journal, timestamp, type JournalEntry } from "./journal.ts";
import { takeLock } from "./lock.ts";
import { OutputNames } from "./output-names.ts";
import { isIgnoredName, isSafeName, spoolLayout, type SpoolLayout } from "./paths.ts";
import { recoverSpool, type RecoveryHost } from "./recovery.ts";
import { planRetry, returnToIncoming } from "./retry.ts";
import { JobRunner } from "./runner.ts";
import { applyEntry } from "./state.ts";
import type { SpoolEvent, SpoolJob, SpoolListener } from "./types.ts";
import { startFailure, warnSpool } from "./warn.ts";
import { watchIncoming, type IncomingWatcher } from "./watcher.ts";

export type { JobExecutor, Spool, SpoolOptions } from "./api.ts";

/**
 * The spool's lifecycle (start, stop), its public queries and retry, and the wiring of its rooms:
 * claims (intake.ts), runs (runner.ts), failures (failures.ts), recovery at start (recovery.ts).
 * The job states and what moves a job between them are drawn in state.ts.
 */
class SpoolImpl implements Spool {
  readonly layout: SpoolLayout;
  readonly #pipeline: Pipeline;
  readonly #executor: JobExecutor;
  readonly #options: SpoolOptions;
  readonly #jobs = new Map<string, SpoolJob>();
  readonly #events = new SpoolEvents();
  readonly #outputs = new OutputNames();
  readonly #failures: Failures;
  readonly #runner: JobRunner;
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
    this.#executor = options.executor ?? options.pipeline;
    this.layout = spoolLayout(options.root);
    if (options.onEvent) this.#events.on(options.onEvent);
    const append = (entry: JournalEntry) => this.#append(entry);
    const emit = (event: SpoolEvent) => this.#emit(event);
    this.#failures = new Failures({ layout: this.layout, jobs: this.#jobs, append, emit });
    this.#runner = new JobRunner({
      layout: this.layout,
      pipeline: this.#pipeline,
      executor: this.#executor,
      jobs: this.#jobs,
      outputs: this.#outputs,
      failures: this.#failures,
      append,
      record: (entry) => this.#record(entry),
      emit,
      stopping: () => this.#state === "stopping",
      targets: () => this.targets(),
    });
  }

  targets(): string[] {
    const formats = this.#pipeline.formats;
    return formats.names().filter((name) => formats.isWritable(name));
  }

  jobs(): SpoolJob[] {
    return [...this.#jobs.values()].sort((a, b) =>
      a.claimedAt < b.claimedAt ? 1 : a.claimedAt > b.claimedAt ? -1 : a.id < b.id ? 1 : -1,
    );
  }

  job(id: string): SpoolJob | undefined {
    return this.#jobs.get(id);
  }

  idle(): Promise<void> {
    return this.#runner.idle(() => this.#claims);
  }

  async start(): Promise<void> {
    if (this.#state !== "stopped") throw new DiskpipeError("usage", "the spool is already started");
    this.#state = "starting";
    const { layout } = this;
    try {
      for (const dir of [layout.incoming, layout.work, layout.done, layout.failed])
        await mkdir(dir, { recursive: true });
      for (const target of this.targets()) await mkdir(join(layout.incoming, target), { recursive: true });
      this.#release = await takeLock(layout.lock);
      const { journal, entries } = await Journal.open(layout.journal);
      this.#journal = journal;
      this.#unsubscribe = this.#executor.on((event) => this.#runner.onPipelineEvent(event));
      await recoverSpool(entries, this.#host());
      this.#state = "started";
      this.#watcher = await watchIncoming(layout.incoming, {
        poll: this.#options.poll,
        settleMs: this.#options.settleMs ?? 1000,
        onFile: (path) => this.#consider(path),
        onError: (error) => warnSpool("DISKPIPE_SPOOL_WATCHER", "the watcher reported an error", error),
      });
    } catch (error) {
      this.#state = "stopping";
      await this.#runner.abortAll(new DiskpipeError("aborted", "the spool did not start"));
      await this.#shutdown();
      throw startFailure(layout.root, error);
    }
  }

  async stop(): Promise<void> {
    if (this.#state !== "started") return;
    this.#state = "stopping";
    await this.#watcher?.close();
    await this.#claims;
    await this.#runner.abortAll(new DiskpipeError("aborted", "the spool is stopping"));
    await this.#shutdown();
  }

  async retry(id: string): Promise<SpoolJob> {
    const job = this.#jobs.get(id);
    if (!job) throw new DiskpipeError("usage", `no job ${id}`);
    if (this.#state !== "started") throw new DiskpipeError("usage", "the spool is not running");
    if (this.#failures.pending(id))
      throw new DiskpipeError(
        "usage",
        `the failure of job ${id} is still being recorded; retry it once its file is in failed/`,
      );
    const move = await planRetry(job, this.layout);
    const entry: JournalEntry = {
      at: timestamp(),
      id,
      state: "retried",
      incoming: relative(this.layout.root, move.to),
    };
    await this.#append(entry);
    await returnToIncoming(move.from, move.to);
    applyEntry(this.#jobs, entry, this.layout);
    this.#emit({ type: "retried", job });
    return job;
  }

  #emit(event: SpoolEvent): void {
    this.#events.emit(event);
  }

  /** Journals an entry; the journal is open from start() until the spool has stopped. */
  async #append(entry: JournalEntry): Promise<void> {
    if (!this.#journal) throw new DiskpipeError("io-failed", `the journal of the spool ${this.layout.root} is closed`);
    await this.#journal.append(entry);
  }

  async #record(entry: JournalEntry): Promise<SpoolJob | undefined> {
    await this.#append(entry);
    return applyEntry(this.#jobs, entry, this.layout);
  }

  async #shutdown(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    await this.#journal?.close().catch(() => {});
    this.#journal = undefined;
    await this.#release?.().catch((error: unknown) =>
      warnSpool("DISKPIPE_SPOOL_CLEANUP", `cannot release the lock ${this.layout.lock}`, error),
    );
    this.#release = undefined;
    this.#watcher = undefined;
    this.#outputs.releaseAll();
    this.#state = "stopped";
    this.#runner.wake();
  }

  /** What recovery and claims need of the spool. */
  #host(): RecoveryHost & IntakeHost {
    const runner = this.#runner;
    return {
      layout: this.layout,
      formats: this.#pipeline.formats,
      jobs: this.#jobs,
      outputs: this.#outputs,
      failures: this.#failures,
      claiming: () => this.#state === "started",
      record: (entry) => this.#record(entry),
      emit: (event) => this.#emit(event),
      finishDone: (job, entry) => runner.finishDone(job, entry),
      start: (job) => runner.start(job),
      fail: (job, error) => runner.fail(job, error),
      track: (job, task) => runner.track(job, task),
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
      .catch((error: unknown) =>
        warnSpool("DISKPIPE_SPOOL_CLAIM", `cannot claim ${JSON.stringify(relative(this.layout.root, path))}`, error),
      );
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
