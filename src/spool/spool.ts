import { lstat, mkdir, readdir } from "node:fs/promises";
import { basename, join, relative, sep } from "node:path";
import { DiskpipeError, toDiskpipeError } from "../core/errors.ts";
import { isTempName } from "../core/io/temp.ts";
import type { JobEvent, JobResult, JobSpec } from "../core/job.ts";
import type { Pipeline } from "../core/pipeline.ts";
import { moveIfPresent, moveNoClobber, removeIfPresent, syncDir, writeErrorFile } from "./claim.ts";
import { Journal, type JobFacts, type JournalEntry } from "./journal.ts";
import { takeLock } from "./lock.ts";
import { isIgnoredName, isSafeName, newJobId, spoolLayout, stemOf, type SpoolLayout } from "./paths.ts";
import { readSidecar, type Sidecar } from "./sidecar.ts";
import { applyEntry, applyPipelineEvent } from "./state.ts";
import type { SpoolError, SpoolEvent, SpoolJob, SpoolListener } from "./types.ts";
import { watchIncoming, type IncomingWatcher } from "./watcher.ts";

/**
 * Options of {@link createSpool}.
 *
 * @example
 * ```ts
 * const options: SpoolOptions = { root: "/srv/spool", pipeline, poll: true, settleMs: 2000 };
 * ```
 */
export interface SpoolOptions {
  /** The spool directory; `incoming/`, `work/`, `done/`, `failed/` and `journal.jsonl` live in it. */
  root: string;
  /** Runs the jobs; its `limit` (the configuration's `jobs`) bounds how many run at once. */
  pipeline: Pipeline;
  /** Poll for new files instead of using file-system events (network file systems). */
  poll?: boolean;
  /** How long a new file's size must stay unchanged before it is claimed, in ms (default 1000). */
  settleMs?: number;
  /** Receives every spool event (also available through `events.on`). */
  onEvent?: SpoolListener;
}

/**
 * A watched folder: files dropped in `incoming/<format>/` are claimed, converted to `<format>`
 * into `done/`, or moved to `failed/` with the reason. See {@link createSpool}.
 *
 * @example
 * ```ts
 * const spool: Spool = createSpool({ root: "/srv/spool", pipeline });
 * await spool.start();
 * console.log(spool.jobs().filter((j) => j.state === "failed").map((j) => j.error?.message));
 * ```
 */
export interface Spool {
  readonly layout: SpoolLayout;
  /** Takes the spool's lock, replays the journal, finishes what a crash interrupted, starts watching. */
  start(): Promise<void>;
  /** Stops claiming, aborts running jobs (they are queued again and rerun at the next start), closes the journal. */
  stop(): Promise<void>;
  /** Every job the journal knows, newest first. */
  jobs(): SpoolJob[];
  job(id: string): SpoolJob | undefined;
  /** Moves a failed job's file back into `incoming/<format>/`, where it is claimed again as a new job. */
  retry(id: string): Promise<SpoolJob>;
  /** The formats a file can be dropped for: the `incoming/` folders. */
  targets(): string[];
  /** Resolves once no claimed job is waiting or running. */
  idle(): Promise<void>;
  readonly events: { on(listener: SpoolListener): () => void };
}

interface Active {
  controller: AbortController;
  promise: Promise<void>;
}

const NAME_MAX = 255;

/** `<id>--<name>`, cut from the front of the name if the whole would not fit a file name. */
function prefixed(id: string, name: string): string {
  let rest = name;
  while (Buffer.byteLength(`${id}--${rest}`) > NAME_MAX) rest = rest.slice(1);
  return `${id}--${rest}`;
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

function now(): string {
  return new Date().toISOString();
}

class SpoolImpl implements Spool {
  readonly layout: SpoolLayout;
  readonly #pipeline: Pipeline;
  readonly #options: SpoolOptions;
  readonly #jobs = new Map<string, SpoolJob>();
  readonly #active = new Map<string, Active>();
  readonly #listeners = new Set<SpoolListener>();
  /** Output names in `done/` that a claimed job will write. */
  readonly #reserved = new Map<string, string>();
  /** Jobs whose output name was already taken when they were claimed. */
  readonly #outputTaken = new Set<string>();
  readonly #sidecars = new Map<string, Sidecar | undefined>();
  /** Names in `failed/` chosen by failures still moving their files. */
  readonly #failing = new Set<string>();
  readonly #idleWaiters: Array<() => void> = [];
  #claims: Promise<void> = Promise.resolve();
  #journal?: Journal;
  #watcher?: IncomingWatcher;
  #release?: () => Promise<void>;
  #unsubscribe?: () => void;
  #state: "stopped" | "starting" | "started" | "stopping" = "stopped";

  readonly events = { on: (listener: SpoolListener) => this.#on(listener) };

  constructor(options: SpoolOptions) {
    this.#options = options;
    this.#pipeline = options.pipeline;
    this.layout = spoolLayout(options.root);
    if (options.onEvent) this.#listeners.add(options.onEvent);
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

  async idle(): Promise<void> {
    for (;;) {
      await this.#claims;
      if (this.#active.size === 0) return;
      await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    }
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
      for (const name of await readdir(layout.done)) if (isTempName(name)) await removeIfPresent(join(layout.done, name));
      await this.#recover();
      this.#state = "started";
      this.#watcher = await watchIncoming(layout.incoming, {
        poll: this.#options.poll,
        settleMs: this.#options.settleMs ?? 1000,
        onFile: (path) => this.#consider(path),
        onError: (error) => process.emitWarning(`spool watcher: ${(error as Error).message ?? String(error)}`),
      });
    } catch (error) {
      await this.#shutdown();
      throw error;
    }
  }

  async stop(): Promise<void> {
    if (this.#state !== "started") return;
    this.#state = "stopping";
    await this.#watcher?.close();
    await this.#claims;
    for (const { controller } of this.#active.values()) controller.abort(new DiskpipeError("aborted", "the spool is stopping"));
    await Promise.allSettled([...this.#active.values()].map((a) => a.promise));
    await this.#shutdown();
  }

  async retry(id: string): Promise<SpoolJob> {
    const job = this.#jobs.get(id);
    if (!job) throw new DiskpipeError("usage", `no job ${id}`);
    if (this.#state !== "started") throw new DiskpipeError("usage", "the spool is not running");
    if (job.state !== "failed" || !job.failedPath) throw new DiskpipeError("usage", `job ${id} is ${job.state}; only failed jobs can be retried`);
    if (!(await exists(job.failedPath))) throw new DiskpipeError("io-failed", `${relative(this.layout.root, job.failedPath)} is gone`);
    const folder = join(this.layout.incoming, job.to);
    const target = join(folder, job.name);
    if (await exists(target)) throw new DiskpipeError("usage", `${relative(this.layout.root, target)} already exists`);
    await mkdir(folder, { recursive: true });
    const entry: JournalEntry = { at: now(), id, state: "retried", incoming: relative(this.layout.root, target) };
    await this.#journal!.append(entry);
    await this.#returnToIncoming(job, target);
    applyEntry(this.#jobs, entry, this.layout);
    this.#emit({ type: "retried", job });
    return job;
  }

  #on(listener: SpoolListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(event: SpoolEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure must not stop the spool.
      }
    }
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
    await this.#release?.();
    this.#release = undefined;
    this.#watcher = undefined;
    this.#reserved.clear();
    this.#state = "stopped";
    this.#notifyIdle();
  }

  /** Finishes every step the journal recorded but a crash or a stop left undone. */
  async #recover(): Promise<void> {
    for (const job of this.#jobs.values()) {
      const sidecar = `${job.source}.json`;
      if (job.state === "done") {
        await removeIfPresent(job.source);
        await removeIfPresent(sidecar);
      } else if (job.state === "failed") {
        if (job.failedPath && job.error) await this.#completeFailure(job, job.failedPath, job.error);
      } else if (job.state === "retried") {
        const target = join(this.layout.incoming, job.to, job.name);
        if (job.failedPath && (await exists(job.failedPath)) && !(await exists(target))) await this.#returnToIncoming(job, target);
      } else {
        await this.#resume(job);
      }
    }
  }

  async #resume(job: SpoolJob): Promise<void> {
    const output = job.output && basename(job.output);
    if (output && !this.#outputTaken.has(job.id)) {
      if (await exists(job.output!)) {
        // The output is renamed into done/ only after every hook succeeded: the run before the crash finished.
        await this.#finishDone(job, { at: now(), id: job.id, state: "done", recovered: true, ...facts(job) });
        return;
      }
      this.#reserved.set(output, job.id);
    }
    if (!(await exists(job.source))) {
      const dropped = join(this.layout.incoming, job.to, job.name);
      const moved = await moveIfPresent(dropped, job.source);
      if (job.hasSidecar) await moveIfPresent(`${dropped}.json`, `${job.source}.json`);
      if (!moved) {
        await this.#fail(job, new DiskpipeError("io-failed", `${job.name} disappeared from the spool before it was converted`, { stage: "claim" }));
        return;
      }
    }
    this.#schedule(job);
  }

  #consider(path: string): void {
    if (this.#state !== "started") return;
    const parts = relative(this.layout.incoming, path).split(sep);
    if (parts.length !== 2) return;
    const [to, name] = parts;
    if (isIgnoredName(name) || !isSafeName(name) || !isSafeName(to)) return;
    this.#claims = this.#claims.then(() => this.#claim(path, to, name)).catch((error: unknown) => {
      process.emitWarning(`spool: cannot claim ${path}: ${(error as Error).message}`);
    });
  }

  /** Journals the claim, then renames the file (and its sidecar) into `work/`. */
  async #claim(path: string, to: string, name: string): Promise<void> {
    if (this.#state !== "started" || !(await exists(path))) return;
    const folder = await lstat(join(this.layout.incoming, to)).catch(() => undefined);
    if (!folder?.isDirectory()) return;
    const id = newJobId();
    const formats = this.#pipeline.formats;
    const output = formats.isWritable(to) ? `${stemOf(name)}.${formats.extensionOf(to)}` : undefined;
    const outputExisted = output !== undefined && (this.#reserved.has(output) || (await exists(join(this.layout.done, output))));
    const work = prefixed(id, name);
    const hasSidecar = await exists(`${path}.json`);
    if (outputExisted) this.#outputTaken.add(id);
    else if (output) this.#reserved.set(output, id);
    const job = await this.#record({ at: now(), id, state: "queued", name, to, work, ...(output && { output }), outputExisted, sidecar: hasSidecar });
    if (!job) return;
    const moved = await moveIfPresent(path, job.source);
    if (hasSidecar) await moveIfPresent(`${path}.json`, `${job.source}.json`);
    await syncDir(this.layout.work);
    this.#emit({ type: "queued", job });
    if (!moved) {
      await this.#fail(job, new DiskpipeError("io-failed", `${name} disappeared before it could be claimed`, { stage: "claim" }));
      return;
    }
    this.#schedule(job);
  }

  #schedule(job: SpoolJob): void {
    const controller = new AbortController();
    const promise = this.#run(job, controller).finally(() => {
      this.#active.delete(job.id);
      if (job.output && this.#reserved.get(basename(job.output)) === job.id && job.state !== "queued") this.#reserved.delete(basename(job.output));
      if (this.#active.size === 0) this.#notifyIdle();
    });
    this.#active.set(job.id, { controller, promise });
  }

  #notifyIdle(): void {
    for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  async #run(job: SpoolJob, controller: AbortController): Promise<void> {
    try {
      const spec = await this.#specOf(job, controller.signal);
      const result = await this.#pipeline.run(spec, { id: job.id });
      await this.#succeed(job, result);
    } catch (error) {
      if (controller.signal.aborted && this.#state === "stopping") {
        await this.#record({ at: now(), id: job.id, state: "queued", reason: "the spool stopped; the job runs again at the next start" });
        this.#emit({ type: "queued", job });
        return;
      }
      await this.#fail(job, toDiskpipeError(error)).catch((failure: unknown) => {
        process.emitWarning(`spool: cannot record the failure of ${job.id}: ${(failure as Error).message}`);
      });
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
      ...(sidecar?.maxSize !== undefined && { maxSize: sidecar.maxSize }),
      ...(sidecar?.options && { options: sidecar.options }),
      signal,
    };
  }

  #onPipelineEvent(event: JobEvent): void {
    const job = this.#jobs.get(event.jobId);
    const active = this.#active.get(event.jobId);
    if (!job || !active) return;
    if (event.type === "queued") {
      if (active.controller.signal.aborted) return;
      const sidecar = this.#sidecars.get(job.id);
      const entry: JournalEntry = { at: now(), id: job.id, state: "running", run: job.runs + 1, ...(sidecar && { sidecar }) };
      applyEntry(this.#jobs, entry, this.layout);
      this.#journal?.append(entry).catch((error: unknown) => process.emitWarning(`spool journal: ${(error as Error).message}`));
      this.#emit({ type: "running", job });
      return;
    }
    if (event.type === "done" || event.type === "failed") return;
    const kind = applyPipelineEvent(job, event);
    this.#emit({ type: "pipeline", job, event });
    if (kind === "progress") this.#emit({ type: "progress", job });
  }

  async #succeed(job: SpoolJob, result: JobResult): Promise<void> {
    await this.#finishDone(job, { at: now(), id: job.id, state: "done", result, ...facts(job) });
  }

  /** Journals `done`, then removes the claimed file: a crash in between leaves a step the next start repeats. */
  async #finishDone(job: SpoolJob, entry: JournalEntry): Promise<void> {
    await this.#journal!.append(entry);
    await removeIfPresent(job.source);
    await removeIfPresent(`${job.source}.json`);
    applyEntry(this.#jobs, entry, this.layout);
    this.#emit({ type: "done", job });
  }

  async #fail(job: SpoolJob, error: DiskpipeError): Promise<void> {
    const failed = await this.#reserveFailedName(job);
    try {
      const json = error.toJSON();
      // Messages name the claimed file by its work path; people dropped it under its own name.
      const reason: SpoolError = { ...json, message: json.message.replaceAll(job.source, job.name), at: now() };
      const entry: JournalEntry = { at: reason.at, id: job.id, state: "failed", error: reason, failed, ...facts(job) };
      await this.#journal!.append(entry);
      await this.#completeFailure(job, join(this.layout.failed, failed), reason);
      applyEntry(this.#jobs, entry, this.layout);
      this.#emit({ type: "failed", job });
    } finally {
      this.#failing.delete(failed);
    }
  }

  /** `failed/<name>`, or `failed/<id>--<name>` when that is taken; reserved until the move is done. */
  async #reserveFailedName(job: SpoolJob): Promise<string> {
    const plain = join(this.layout.failed, job.name);
    const onDisk = (await exists(plain)) || (await exists(`${plain}.error.json`));
    // No await from here on: checking and reserving must not interleave with another failure.
    const taken = onDisk || this.#failing.has(job.name) || [...this.#jobs.values()].some((other) => other !== job && other.state === "failed" && other.failedPath === plain);
    const name = taken ? prefixed(job.id, job.name) : job.name;
    this.#failing.add(name);
    return name;
  }

  /** Writes the error file and moves the source and its sidecar into `failed/` (each step repeatable). */
  async #completeFailure(job: SpoolJob, failedPath: string, error: SpoolError): Promise<void> {
    if (!(await exists(job.source))) return;
    await writeErrorFile(`${failedPath}.error.json`, error);
    await moveIfPresent(`${job.source}.json`, `${failedPath}.json`);
    await moveIfPresent(job.source, failedPath);
    await syncDir(this.layout.failed);
  }

  async #returnToIncoming(job: SpoolJob, target: string): Promise<void> {
    const failedPath = job.failedPath!;
    await moveIfPresent(`${failedPath}.json`, `${target}.json`);
    await moveNoClobber(failedPath, target);
    await removeIfPresent(`${failedPath}.error.json`);
  }
}

function facts(job: SpoolJob): JobFacts {
  return {
    ...(job.inspection && { inspection: job.inspection }),
    timings: job.timings,
    hooks: job.hooks,
    warnings: job.warnings,
  };
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
