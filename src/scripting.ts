import { basename, extname, join } from "node:path";
import type { ResolvedConfig, UserConfig } from "./core/config.ts";
import { UsageError } from "./core/errors.ts";
import type { InspectOptions, InspectResult } from "./core/inspect/types.ts";
import type { ImageStream } from "./core/io/inspect-stream.ts";
import type { JobEvent, JobResult, JobSpec } from "./core/job.ts";
import type { BatchItem, Pipeline } from "./core/pipeline.ts";
import { createPipeline } from "./create-pipeline.ts";
import { defaultConfig } from "./default-config.ts";

/** Options every scripting call takes. */
export interface ScriptOptions {
  /** The configuration; defaults to diskpipe's own `plugins.config.ts` (all built-in plugins). */
  config?: UserConfig;
  /** Receives every event of the jobs this call runs. */
  onEvent?: (event: JobEvent) => void;
}

async function pipelineFor(options: ScriptOptions): Promise<Pipeline> {
  const pipeline = createPipeline(options.config ?? (await defaultConfig()));
  if (options.onEvent) pipeline.on(options.onEvent);
  return pipeline;
}

/**
 * Converts one image: fetch, inspect, verify, convert, commit. Rejects with a DiskpipeError.
 *
 * @example
 * ```ts
 * import { convert } from "diskpipe";
 * const result = await convert({ source: "in.vmdk", destination: "out.qcow2", to: "qcow2" });
 * console.log(result.virtualSize);
 * ```
 */
export async function convert(options: JobSpec & ScriptOptions): Promise<JobResult> {
  const { config, onEvent, ...spec } = options;
  return (await pipelineFor({ config, onEvent })).run(spec);
}

/**
 * Inspects an image with the native inspector only (no qemu-img needed): a local path, an
 * http(s) URL, or a stream of its bytes (a Node Readable or a web ReadableStream).
 *
 * @example
 * ```ts
 * import { createReadStream } from "node:fs";
 * import { inspect } from "diskpipe";
 * const report = await inspect("disk.vmdk", { claimed: "vmdk" });
 * if (!report.safe) console.error(report.problems);
 * const fromStream = await inspect(createReadStream("disk.qcow2"));
 * ```
 */
export async function inspect(
  image: string | ImageStream,
  options: Omit<InspectOptions, "detectors"> & { config?: UserConfig } = {},
): Promise<InspectResult> {
  const { config, ...inspectOptions } = options;
  return (await pipelineFor({ config })).inspect(image, inspectOptions);
}

/** Options of {@link batch}. */
export interface BatchOptions extends ScriptOptions, Omit<JobSpec, "source" | "destination"> {
  /** Directory the outputs go to, each named `<stem>.<extension of the target format>`. */
  outDir: string;
  /** Jobs at once (default: the configuration's `jobs`). */
  jobs?: number;
}

/**
 * Converts many images into one directory, a bounded number at a time, yielding each result
 * as it finishes.
 *
 * @example
 * ```ts
 * import { batch } from "diskpipe";
 * for await (const item of batch(["a.vmdk", "b.vhd"], { outDir: "out", to: "qcow2" })) {
 *   console.log(item.spec.source, item.error ? item.error.message : "ok");
 * }
 * ```
 */
export async function* batch(sources: Iterable<string>, options: BatchOptions): AsyncGenerator<BatchItem> {
  const { config, onEvent, outDir, jobs, ...common } = options;
  const base = config ?? (await defaultConfig());
  const pipeline = createPipeline({ ...base, ...(jobs && { jobs }) });
  if (onEvent) pipeline.on(onEvent);
  yield* pipeline.batch(batchSpecs(pipeline, sources, outDir, common));
}

/**
 * The job specs of a batch: one output per input, `<stem>.<ext>` in `outDir`.
 *
 * @example
 * ```ts
 * batchSpecs(pipeline, ["a/disk.vmdk"], "out", { to: "qcow2" }); // [{ source: "a/disk.vmdk", destination: "out/disk.qcow2", to: "qcow2" }]
 * ```
 */
export function batchSpecs(
  pipeline: Pipeline,
  sources: Iterable<string>,
  outDir: string,
  common: Omit<JobSpec, "source" | "destination">,
): JobSpec[] {
  const extension = pipeline.formats.extensionOf(common.to);
  const seen = new Map<string, string>();
  return [...sources].map((source) => {
    const name = basename(source.replace(/[?#].*$/, ""));
    const stem = name.slice(0, name.length - extname(name).length) || name;
    const destination = join(outDir, `${stem}.${extension}`);
    const clash = seen.get(destination);
    if (clash) throw new UsageError(`both ${clash} and ${source} would be written to ${destination}`);
    seen.set(destination, source);
    return { ...common, source, destination };
  });
}

export type { ResolvedConfig };
export { defaultConfig };
