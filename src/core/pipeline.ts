import type { Stats } from "node:fs";
import { lstat, mkdtemp, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { resolveConfig, type ResolvedConfig, type UserConfig } from "./config.ts";
import { DiskpipeError, toDiskpipeError } from "./errors.ts";
import { redactLocation } from "./redact.ts";
import type { FormatRegistry } from "./formats.ts";
import { runReduce, runSequential, type HookTimer } from "./hooks.ts";
import { createInspector, registerFormats, type Inspector } from "./inspector.ts";
import type { ImageStream } from "./io/inspect-stream.ts";
import type { InspectOptions, InspectResult } from "./inspect/types.ts";
import { fetchCache } from "./io/fetch-cache.ts";
import { httpSink } from "./io/http-sink.ts";
import { isHttpUrl } from "./io/http.ts";
import { httpSource } from "./io/http-source.ts";
import { explainNoSpace } from "./io/no-space.ts";
import { pathSink } from "./io/path-sink.ts";
import { pathSource } from "./io/path-source.ts";
import { pinSource } from "./io/pin-source.ts";
import { OWNER_TAG, workRootFor } from "./io/temp.ts";
import { sweepStale } from "./io/stale.ts";
import { prepareWorkRoot } from "./io/work-root.ts";
import { ioWrapper } from "./io/throttle.ts";
import type { Sink, SinkDriver, SourceDriver } from "./io/types.ts";
import { createJobContext, type RunningJob } from "./job-context.ts";
import type { JobEvent, JobResult, JobSpec, Stage } from "./job.ts";
import { Limiter } from "./limit.ts";
import type { Plugin } from "./plugin.ts";
import { QemuImg, type QemuInfo } from "./qemu-img.ts";
import { runConvert } from "./stages/convert.ts";
import { fetchJob } from "./stages/fetch.ts";
import { inspectJob, rejectUnsafe } from "./stages/inspect.ts";
import { buildPlan, checkSpace } from "./stages/plan.ts";
import { resolveHandler } from "./stages/resolve.ts";

/** Listens to the events of every job of a pipeline. */
export type JobListener = (event: JobEvent) => void;

/** One entry of a batch: the spec and either its result or its error. */
export type BatchItem = { spec: JobSpec; result: JobResult; error?: undefined } | { spec: JobSpec; result?: undefined; error: DiskpipeError };

/**
 * The job runner: plugins sorted once, formats registered, one qemu-img adapter, one
 * concurrency bound. Runs jobs through resolve → preFetch → fetch → inspect → verify →
 * prepare → preConvert → convert → postConvert → upload → cleanup.
 *
 * @example
 * ```ts
 * const pipeline = createPipeline({ plugins: [] });
 * pipeline.on((e) => e.type === "progress" && console.log(e.percent));
 * await pipeline.run({ source: "in.vmdk", destination: "out.qcow2", to: "qcow2" });
 * ```
 */
export class Pipeline {
  readonly config: ResolvedConfig;
  readonly plugins: Plugin[];
  readonly formats: FormatRegistry;
  readonly qemu: QemuImg;
  /** The one concurrency bound shared by batch runs and the spool. */
  readonly limit: Limiter;
  readonly sources: SourceDriver[];
  readonly sinks: SinkDriver[];
  readonly #listeners = new Set<JobListener>();
  readonly #inspector: Inspector;
  #startup: Promise<{ root: string; identity: Stats }> | undefined;

  constructor(config: ResolvedConfig) {
    this.config = config;
    const wrapper = ioWrapper(config.throttle);
    ({ plugins: this.plugins, formats: this.formats } = registerFormats(config.plugins));
    this.#inspector = createInspector(this.formats, this.workRoot, config.fetch);
    this.qemu = new QemuImg({
      binary: config.qemuImg.binary,
      limits: { cpuSeconds: config.qemuImg.cpuSeconds, addressSpace: config.qemuImg.addressSpace },
      ...(wrapper && { wrapper }),
    });
    this.limit = new Limiter(config.jobs);
    const transfer = { ...config.fetch, ...(config.throttle.bytesPerSecond && { bytesPerSecond: config.throttle.bytesPerSecond }) };
    this.sources = [...this.plugins.flatMap((p) => p.sources ?? []), httpSource(transfer), pathSource];
    this.sinks = [...this.plugins.flatMap((p) => p.sinks ?? []), httpSink(transfer), pathSink];
  }

  /** Where jobs keep temporary files: `<workDir>/diskpipe`, shared by every pipeline with the same `workDir`. */
  get workRoot(): string {
    return workRootFor(this.config.workDir);
  }

  /** Subscribes to every job's events; returns the unsubscribe function. */
  on(listener: JobListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Inspects an image natively, with the detectors this pipeline's plugins registered: a local
   * path, an http(s) URL (only as much is downloaded as the verdict needs) or a stream. No qemu-img.
   *
   * @example
   * ```ts
   * const report = await pipeline.inspect("disk.vmdk", { claimed: "vmdk" });
   * ```
   */
  inspect(image: string | ImageStream, options: Omit<InspectOptions, "detectors"> = {}): Promise<InspectResult> {
    return this.#inspector.inspect(image, options);
  }

  /**
   * qemu-img's view of a local image, asked only after the native inspector accepted it, and
   * always with `-f` set to the detected format.
   *
   * @example
   * ```ts
   * const { info } = await pipeline.info("disk.qcow2");
   * ```
   */
  async info(path: string, options: Omit<InspectOptions, "detectors"> = {}): Promise<{ inspection: InspectResult; info: QemuInfo }> {
    // What qemu-img reads must be what was inspected: a file others can change is snapshotted first.
    const dir = await mkdtemp(join(await this.#started(), `job-${OWNER_TAG}-info-`));
    try {
      const pinned = await pinSource(path, dir);
      const inspection = await this.inspect(pinned.path, options);
      rejectUnsafe(inspection, path);
      const info = await this.qemu.info({ path: pinned.path, format: inspection.format, driver: this.formats.driverOf(inspection.format), options: {} });
      return { inspection, info };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Runs one job within the pipeline's concurrency bound. Rejects with a DiskpipeError. */
  run(spec: JobSpec, options: { id?: string } = {}): Promise<JobResult> {
    return this.limit.run(() => this.#run(spec, options.id));
  }

  /**
   * Runs many jobs, at most `config.jobs` at once, yielding each as it finishes.
   *
   * @example
   * ```ts
   * for await (const item of pipeline.batch(specs)) console.log(item.spec.source, item.error?.code ?? "ok");
   * ```
   */
  async *batch(specs: Iterable<JobSpec>): AsyncGenerator<BatchItem> {
    // The jobs of a batch share temporary images (one download per URL) even when they run one after another.
    const unhold = fetchCache.hold();
    try {
      yield* this.#batch(specs);
    } finally {
      await unhold();
    }
  }

  async *#batch(specs: Iterable<JobSpec>): AsyncGenerator<BatchItem> {
    const pending = new Map<number, Promise<{ key: number; item: BatchItem }>>();
    let key = 0;
    for (const spec of specs) {
      const k = key++;
      pending.set(
        k,
        this.run(spec).then(
          (result) => ({ key: k, item: { spec, result } }),
          (error: unknown) => ({ key: k, item: { spec, error: toDiskpipeError(error) } }),
        ),
      );
    }
    while (pending.size > 0) {
      const { key: done, item } = await Promise.race(pending.values());
      pending.delete(done);
      yield item;
    }
  }

  /**
   * Checks and makes the work root, and removes what crashed runs left in it (once per
   * pipeline); then, for every job, that it is still the same directory (nobody swapped it).
   */
  async #started(): Promise<string> {
    this.#startup ??= prepareWorkRoot(this.config.workDir).then(async (root) => {
      await sweepStale(root);
      return { root, identity: await lstat(root) };
    });
    this.#startup.catch(() => (this.#startup = undefined));
    const { root, identity } = await this.#startup;
    const now = await lstat(root).catch(() => undefined);
    if (!now?.isDirectory() || now.dev !== identity.dev || now.ino !== identity.ino) {
      this.#startup = undefined;
      throw new DiskpipeError("config-invalid", `workDir: the work root ${root} was replaced while diskpipe ran`);
    }
    return root;
  }

  #emit(event: JobEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure must not fail the job.
      }
    }
  }

  async #run(request: JobSpec, id?: string): Promise<JobResult> {
    const spec: JobSpec = { ...request, maxSize: request.maxSize ?? this.config.maxSize };
    const plugins = this.plugins.filter((p) => !p.apply || p.apply(spec));
    await this.#started();
    const job = await createJobContext({ spec, workRoot: this.workRoot, qemu: this.qemu, formats: this.formats, emit: (e) => this.#emit(e), id });
    const { signal: _signal, options: _options, ...rest } = spec;
    const publicSpec = { ...rest, source: redactLocation(spec.source), destination: redactLocation(spec.destination) };
    const started = performance.now();
    this.#emit({ type: "queued", jobId: job.id, spec: publicSpec, at: Date.now() });
    const timings: JobResult["timings"] = [];
    const timer: HookTimer = (hook, plugin, ms) => this.#emit({ type: "hook", jobId: job.id, hook, plugin, ms });
    const stage = async <T>(name: Stage, work: () => T | Promise<T>): Promise<T> => {
      job.stage = name;
      job.signal.throwIfAborted();
      this.#emit({ type: "stage-start", jobId: job.id, stage: name, at: Date.now() });
      const t0 = performance.now();
      try {
        return await work();
      } catch (error) {
        throw toDiskpipeError(error, "io-failed", { stage: name });
      } finally {
        const ms = performance.now() - t0;
        timings.push({ stage: name, ms });
        this.#emit({ type: "stage-end", jobId: job.id, stage: name, ms });
      }
    };

    let sink: Sink | undefined;
    try {
      job.handler = await stage("resolve", () => resolveHandler(job.spec, this.formats));
      await stage("preFetch", () => runSequential(plugins, "preFetch", [job], timer));
      // raw → raw, claimed raw: the sink opens first so a download can go straight into it.
      if (streamsIntoOutput(job)) sink = await stage("prepare", () => this.#openSink(job));
      const into = sink && !sink.target.blockDevice && !sink.target.staged ? sink.target.path : undefined;
      const fetched = await stage("fetch", () => fetchJob(job, this.sources, this.formats, into));
      job.inspection = await stage("inspect", () => this.#inspect(job, fetched.inspection));
      this.#emit({ type: "inspected", jobId: job.id, result: job.inspection });
      await stage("verify", () => runSequential(plugins, "verify", [job], timer));
      sink = await stage("prepare", async () => {
        const opened = sink ?? (await this.#openSink(job));
        job.plan = buildPlan(job, this.formats, this.config, opened.target);
        return opened;
      });
      const target = sink.target;
      let needed: number | undefined;
      job.plan = await stage("preConvert", async () => {
        const plan = await runReduce(plugins, "preConvert", job.plan!, job, timer);
        needed = await checkSpace(job, plan, target);
        return plan;
      });
      await stage("convert", () =>
        runConvert(job, job.plan!).catch(async (error: unknown) => {
          throw await explainNoSpace(error, target.path, needed, `the output (${job.spec.destination})`);
        }),
      );
      job.output = { path: target.path, format: job.spec.to, size: target.blockDevice ? undefined : (await stat(target.path)).size };
      await stage("postConvert", () => runSequential(plugins, "postConvert", [job], timer));
      await stage("upload", async () => {
        await runSequential(plugins, "upload", [job], timer);
        await sink!.commit(job);
      });
      const result: JobResult = {
        jobId: job.id,
        source: publicSpec.source,
        destination: redactLocation(job.spec.destination),
        from: job.inspection.format,
        to: job.spec.to,
        virtualSize: job.inspection.virtualSize,
        outputSize: job.output.size ?? job.inspection.virtualSize,
        ...(job.sourceHash && { sourceHash: job.sourceHash }),
        ms: 0,
        timings,
        warnings: job.warnings,
      };
      await this.#cleanup(job, timings);
      result.ms = performance.now() - started;
      this.#emit({ type: "done", jobId: job.id, result });
      return result;
    } catch (error) {
      const failure = toDiskpipeError(error, "io-failed", { stage: job.stage });
      // A location quoted whole (a password with a space is not cut out by the URL pattern) is replaced by its redacted form.
      for (const location of [spec.source, job.spec.destination]) {
        if (redactLocation(location) !== location) failure.message = failure.message.replaceAll(location, redactLocation(location));
      }
      await sink?.abort().catch(() => {});
      await this.#cleanup(job, timings);
      this.#emit({ type: "failed", jobId: job.id, error: failure.toJSON(), ms: performance.now() - started });
      throw failure;
    }
  }

  /**
   * Inspects the image; when it is detected as a container format with an `unpack` (and was
   * not claimed as one), unpacks it once and inspects what came out.
   */
  async #inspect(job: RunningJob, streamed: InspectResult | undefined): Promise<InspectResult> {
    const result = await inspectJob(job, this.formats, streamed);
    const container = this.formats.get(result.format);
    if (!container?.unpack || job.handler?.unpack) return result;
    job.handler = container;
    const unpacked = await container.unpack(job);
    job.image = { path: unpacked.path, claimed: unpacked.format, temporary: true };
    return inspectJob(job, this.formats);
  }

  async #openSink(job: RunningJob): Promise<Sink> {
    const driver = this.sinks.find((s) => s.matches(job.spec.destination));
    if (!driver) throw toDiskpipeError(new Error(`no sink handles ${job.spec.destination}`), "usage");
    return driver.open(job.spec.destination, job);
  }

  async #cleanup(job: RunningJob, timings: JobResult["timings"]): Promise<void> {
    job.stage = "cleanup";
    const t0 = performance.now();
    this.#emit({ type: "stage-start", jobId: job.id, stage: "cleanup", at: Date.now() });
    await job.runCleanups();
    const ms = performance.now() - t0;
    timings.push({ stage: "cleanup", ms });
    this.#emit({ type: "stage-end", jobId: job.id, stage: "cleanup", ms });
  }
}

/**
 * Creates a pipeline from a configuration (validated; errors name the bad field).
 *
 * @example
 * ```ts
 * import { createPipeline } from "diskpipe";
 * const pipeline = createPipeline({ plugins: [], maxSize: "1T" });
 * ```
 */
export function createPipeline(config: UserConfig = {}): Pipeline {
  return new Pipeline(resolveConfig(config));
}

/** A job whose source may be written straight into its output: claimed raw, converted to raw, no container. */
function streamsIntoOutput(job: RunningJob): boolean {
  return job.spec.from === "raw" && job.spec.to === "raw" && !job.handler?.unpack && isHttpUrl(job.spec.source);
}
