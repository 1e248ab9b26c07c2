import { dirname } from "node:path";
import { stat } from "node:fs/promises";
import type { ResolvedConfig } from "../config.ts";
import type { LocalImage } from "../context.ts";
import { DiskpipeError } from "../errors.ts";
import type { FormatRegistry } from "../formats.ts";
import type { InspectResult } from "../inspect/types.ts";
import { ensureSpace } from "../io/space.ts";
import { openFileReader } from "../io/reader.ts";
import type { SinkTarget } from "../io/types.ts";
import type { ConvertPlan } from "../job.ts";
import type { RunningJob } from "../job-context.ts";
import { formatSize } from "../size.ts";

/** The inspected image a plan converts. */
export interface InspectedImage {
  image: LocalImage;
  inspection: InspectResult;
}

/**
 * The conversion plan before `preConvert` hooks: `-f` from the inspector's verdict, the
 * target's options, and flags from the configuration.
 *
 * @example
 * ```ts
 * declare const job: RunningJob, image: LocalImage, inspection: InspectResult, registry: FormatRegistry;
 * declare const config: ResolvedConfig, sink: Sink;
 * const plan = buildPlan(job, { image, inspection }, registry, config, sink.target);
 * ```
 */
export function buildPlan(
  job: RunningJob,
  { image, inspection }: InspectedImage,
  registry: FormatRegistry,
  config: ResolvedConfig,
  target: SinkTarget,
): ConvertPlan {
  const to = job.spec.to;
  const fromRaw = inspection.format === "raw" || (inspection.format === "iso" && registry.driverOf("iso") === "raw");
  const written = image.path === target.path;
  // The copy engine copies whole files: an image that is a byte range of its file goes through qemu-img.
  const copies = fromRaw && to === "raw" && !target.blockDevice && !image.region;
  const engine = written ? "done" : copies ? "copy" : "qemu-img";
  const { path, region } = image;
  return {
    input: {
      path,
      format: inspection.format,
      driver: registry.driverOf(inspection.format),
      options: {},
      ...(region && { region }),
    },
    output: {
      path: target.path,
      format: to,
      driver: registry.driverOf(to),
      options: registry.require(to).outputOptions?.(job) ?? {},
    },
    secrets: [],
    flags: {
      coroutines: config.qemuImg.coroutines,
      outOfOrder: config.qemuImg.outOfOrder ?? false,
      ...(target.directIo && config.qemuImg.directIo && { cache: "none" }),
      ...(target.blockDevice && to === "raw" && { noCreate: true }),
      ...(config.throttle.bytesPerSecond && { rateLimit: config.throttle.bytesPerSecond }),
      ...(job.spec.options?.compress === true && registry.require(to).compresses && { compress: true }),
    },
    limits: conversionLimits(config, inspection.virtualSize),
    engine,
  };
}

/**
 * The CPU-time and address-space limits of a qemu process that reads a whole disk of
 * `virtualSize` bytes (a conversion, a qemu-nbd export for the content hash).
 *
 * @example
 * ```ts
 * declare const config: ResolvedConfig;
 * conversionLimits(config, 2 * 1024 ** 3); // { cpuSeconds: 60 + 2 * 120, addressSpace: 2 GiB } with the defaults
 * ```
 */
export function conversionLimits(
  config: ResolvedConfig,
  virtualSize: number,
): { cpuSeconds: number; addressSpace: number } {
  const gib = Math.ceil(virtualSize / 1024 ** 3);
  return {
    cpuSeconds: config.qemuImg.convertCpuSeconds + gib * config.qemuImg.convertCpuSecondsPerGiB,
    addressSpace: config.qemuImg.convertAddressSpace,
  };
}

/**
 * Refuses to start a conversion the destination cannot hold: `qemu-img measure` against the
 * free space beside the output (or the block device's size). An output staged in the work
 * directory (HTTP, stores) must fit there, and also in the store's directory when it is local
 * (twice over when both are on one filesystem). Returns the estimate in bytes.
 *
 * @example
 * ```ts
 * declare const job: RunningJob, target: SinkTarget, inspection: InspectResult;
 * const needed = await checkSpace(job, plan, target, inspection.virtualSize);
 * ```
 */
export async function checkSpace(
  job: RunningJob,
  plan: ConvertPlan,
  target: SinkTarget,
  virtualSize: number,
  space?: SpaceShare,
): Promise<number | undefined> {
  if (plan.engine === "done") return undefined;
  if (target.blockDevice) {
    const reader = await openFileReader(target.path);
    const deviceSize = await reader.size().finally(() => reader.close());
    if (deviceSize < virtualSize && plan.output.format === "raw") {
      throw new DiskpipeError(
        "no-space",
        `block device ${target.path} holds ${formatSize(deviceSize)}, the image needs ${formatSize(virtualSize)}`,
      );
    }
    return virtualSize;
  }
  const needed =
    plan.engine === "copy" ? (await stat(plan.input.path)).blocks * 512 : await measureOutput(job, plan, virtualSize);
  // What outputs written beside this one at the same time will take, counted before them (they hold it until written).
  const others = space?.hold(needed) ?? 0;
  const staging = dirname(target.path);
  const final = target.staged?.finalDirectory;
  const shared = final !== undefined && (await stat(final).catch(() => undefined))?.dev === (await stat(staging)).dev;
  const what = target.staged
    ? `the output of ${job.spec.destination}, staged in the conversion directory`
    : `the output (${job.spec.destination})`;
  const besides = others > 0 ? ` besides the ${formatSize(others)} of the outputs written with it` : "";
  await ensureSpace(
    staging,
    (shared ? needed * 2 : needed) + others,
    `${shared ? `${what} and its copy in ${final}` : what}${besides}`,
  );
  if (final !== undefined && !shared)
    await ensureSpace(final, needed + others, `the output (${job.spec.destination})${besides}`);
  return needed;
}

/**
 * Space that outputs written at the same time share (an appliance's disks, side by side):
 * `hold` counts an output's bytes until `release` and returns what the others hold now.
 *
 * @example
 * ```ts
 * const held = new Map<number, number>();
 * const share = (i: number): SpaceShare => ({
 *   hold: (bytes) => (held.set(i, bytes), [...held].reduce((sum, [j, b]) => (j === i ? sum : sum + b), 0)),
 *   release: () => void held.delete(i),
 * });
 * ```
 */
export interface SpaceShare {
  hold(bytes: number): number;
  release(): void;
}

/**
 * The output size: the target format's own estimate when it has one, else what qemu-img
 * predicts. Drivers without `measure` support (vmdk, vpc, vhdx, vdi) are estimated as the
 * virtual size for fully allocated subformats, else as a qcow2 of the same data.
 */
async function measureOutput(job: RunningJob, plan: ConvertPlan, virtualSize: number): Promise<number> {
  const estimate = job.formats.get(plan.output.format)?.estimateSize;
  if (estimate) return estimate(virtualSize);
  // With secrets, measure would derive keys (seconds of PBKDF work under the CPU limit).
  if (plan.secrets.length > 0) return virtualSize;
  try {
    return (await job.qemu.measure(plan.input, plan.output, plan.secrets)).required;
  } catch (error) {
    if (!/does not support size measurement/.test((error as Error).message)) throw error;
    const subformat = String(plan.output.options.subformat ?? "");
    if (/fixed|flat|prealloc/i.test(subformat)) return virtualSize;
    return (await job.qemu.measure(plan.input, { format: "qcow2", driver: "qcow2", options: {} }, plan.secrets))
      .required;
  }
}
