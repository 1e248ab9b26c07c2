import type { Stats } from "node:fs";
import { lstat, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { resolveConfig, type ResolvedConfig, type UserConfig } from "./config.ts";
import { DiskpipeError, toDiskpipeError, UsageError } from "./errors.ts";
import type { FormatRegistry } from "./formats.ts";
import { HookRunner } from "./hooks.ts";
import { createInspector, registerFormats, type Inspector } from "./inspector.ts";
import type { ImageStream } from "./io/inspect-stream.ts";
import type { InspectOptions, InspectResult } from "./inspect/types.ts";
import { fetchCache } from "./io/fetch-cache.ts";
import { httpSink } from "./io/http-sink.ts";
import { httpSource } from "./io/http-source.ts";
import { pathSink } from "./io/path-sink.ts";
import { pathSource } from "./io/path-source.ts";
import { pinSource } from "./io/pin-source.ts";
import { OWNER_TAG, workRootFor } from "./io/temp.ts";
import { sweepStale } from "./io/stale.ts";
import { sweepStaleSocketDirs } from "./content-hash/socket-dir.ts";
import { prepareWorkRoot } from "./io/work-root.ts";
import { ioWrapper } from "./io/throttle.ts";
import type { SinkDriver, SourceDriver } from "./io/types.ts";
import { createJobContext } from "./job-context.ts";
import { runJob } from "./run-job.ts";
import type { JobEvent, JobResult, JobSpec } from "./job.ts";
import { Limiter } from "./limit.ts";
import { Listeners } from "./listeners.ts";
import type { Plugin } from "./plugin.ts";
import { QemuImg, type QemuInfo } from "./qemu-img.ts";
import { rejectUnsafe } from "./inspect/reject-unsafe.ts";
import { conversionLimits } from "./stages/plan.ts";
import { hashImage } from "./content-hash/index.ts";

/** Listens to the events of every job of a pipeline. */
export type JobListener = (event: JobEvent) => void;

/** One entry of a batch: the spec and either its result or its error. */
export type BatchItem =
  { spec: JobSpec; result: JobResult; error?: undefined } | { spec: JobSpec; result?: undefined; error: DiskpipeError };

/**
 * The job runner: plugins sorted once, formats registered, one qemu-img adapter, one
 * concurrency bound. Runs each job with {@link runJob}: resolve → preFetch → fetch → (unpack) →
 * inspect → verify → prepare → preConvert → convert → postConvert → upload → cleanup.
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
  readonly #listeners = new Listeners<JobEvent>();
  readonly #inspector: Inspector;
  readonly #hooks: HookRunner;
  #startup: Promise<{ root: string; identity: Stats }> | undefined;

  constructor(config: ResolvedConfig) {
    this.config = config;
    const wrapper = ioWrapper(config.throttle);
    ({ plugins: this.plugins, formats: this.formats } = registerFormats(config.plugins));
    this.#hooks = new HookRunner(this.plugins);
    this.#inspector = createInspector(this.formats, this.workRoot, config.fetch);
    this.qemu = new QemuImg({
      binary: config.qemuImg.binary,
      limits: { cpuSeconds: config.qemuImg.cpuSeconds, addressSpace: config.qemuImg.addressSpace },
      ...(wrapper && { wrapper }),
    });
    this.limit = new Limiter(config.jobs);
    const transfer = {
      ...config.fetch,
      ...(config.throttle.bytesPerSecond && { bytesPerSecond: config.throttle.bytesPerSecond }),
    };
    this.sources = [...this.plugins.flatMap((p) => p.sources ?? []), httpSource(transfer), pathSource];
    this.sinks = [...this.plugins.flatMap((p) => p.sinks ?? []), httpSink(transfer), pathSink];
  }

  /** Where jobs keep temporary files: `<workDir>/diskpipe`, shared by every pipeline with the same `workDir`. */
  get workRoot(): string {
    return workRootFor(this.config.workDir);
  }

  /** Subscribes to every job's events; returns the unsubscribe function. */
  on(listener: JobListener): () => void {
    return this.#listeners.on(listener);
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
  async info(
    path: string,
    options: Omit<InspectOptions, "detectors"> = {},
  ): Promise<{ inspection: InspectResult; info: QemuInfo }> {
    // What qemu-img reads must be what was inspected: a file others can change is snapshotted first.
    const dir = await mkdtemp(join(await this.#started(), `job-${OWNER_TAG}-info-`));
    try {
      const pinned = await pinSource(path, dir);
      const inspection = await this.inspect(pinned.path, options);
      rejectUnsafe(inspection, path);
      const info = await this.qemu.info({
        path: pinned.path,
        format: inspection.format,
        driver: this.formats.driverOf(inspection.format),
        options: {},
      });
      return { inspection, info };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * The content hash (`blk-sha256:…`, the same for every format of one disk) of a local image,
   * computed only after the native inspector accepted it (a file others can change is
   * snapshotted first); qemu reads it with `-f` set to the detected format.
   *
   * @example
   * ```ts
   * const { contentHash, inspection } = await pipeline.contentHash("disk.qcow2");
   * ```
   */
  async contentHash(
    path: string,
    options: Omit<InspectOptions, "detectors"> & { signal?: AbortSignal } = {},
  ): Promise<{ inspection: InspectResult; contentHash: string; readBytes: number }> {
    const { signal, ...inspectOptions } = options;
    const dir = await mkdtemp(join(await this.#started(), `job-${OWNER_TAG}-hash-`));
    try {
      const pinned = await pinSource(path, dir);
      const inspection = await this.inspect(pinned.path, inspectOptions);
      rejectUnsafe(inspection, path);
      if (inspection.format === "luks")
        throw new UsageError(
          `${path} is encrypted (luks): its content hash needs its key; convert it with --verify (and --passphrase-file) instead`,
        );
      const image = {
        path: pinned.path,
        format: inspection.format,
        driver: this.formats.driverOf(inspection.format),
        options: {},
      };
      const hashed = await hashImage(this.qemu, image, inspection.virtualSize, {
        workDir: dir,
        limits: conversionLimits(this.config, inspection.virtualSize),
        // Two hashing threads helped for a format read through qemu-nbd (a cold 2 GiB qcow2: 3.6 s
        // against 4.4 s, 4 alternating runs), not for raw (2.05 s against 2.14 s): see the README.
        threads: image.driver === "raw" ? 1 : 2,
        ...(signal && { signal }),
      });
      return { inspection, ...hashed };
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
   * declare const specs: JobSpec[];
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
      await sweepStaleSocketDirs();
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

  async #run(request: JobSpec, id?: string): Promise<JobResult> {
    const spec: JobSpec = {
      ...request,
      maxSize: request.maxSize ?? this.config.maxSize,
      ...((request.verify ?? this.config.verify) && { verify: true }),
    };
    const hooks = this.#hooks.forJob(spec);
    await this.#started();
    const emit = (event: JobEvent) => this.#listeners.emit(event);
    const job = await createJobContext({
      spec,
      workRoot: this.workRoot,
      qemu: this.qemu,
      formats: this.formats,
      emit,
      id,
    });
    return runJob(job, {
      config: this.config,
      formats: this.formats,
      sources: this.sources,
      sinks: this.sinks,
      hooks,
      emit,
    });
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
