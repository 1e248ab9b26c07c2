import type { LocalImage } from "../context.ts";
import type { FormatRegistry } from "../formats.ts";
import type { InspectResult } from "../inspect/types.ts";
import type { RunningJob } from "../job-context.ts";
import { DiskpipeError } from "../errors.ts";
import type { FormatDefinition, UnpackedAppliance, UnpackedImage } from "../plugin.ts";

/** A format handler that turns a container into one image. */
export type Unpacker = FormatDefinition & { unpack: NonNullable<FormatDefinition["unpack"]> };

/**
 * Whether a format handler unpacks containers.
 *
 * @example
 * ```ts
 * declare const job: RunningJob;
 * if (job.handler && isUnpacker(job.handler)) console.log(await unpackImage(job, job.handler));
 * ```
 */
export function isUnpacker(format: FormatDefinition | undefined): format is Unpacker {
  return typeof format?.unpack === "function";
}

/**
 * The container format an inspection found, when its handler unpacks and the job did not
 * claim a container already (a container is unpacked once, never a container inside it).
 *
 * @example
 * ```ts
 * declare const job: RunningJob, inspection: InspectResult, registry: FormatRegistry;
 * const container = detectedContainer(job, inspection, registry);
 * ```
 */
export function detectedContainer(
  job: RunningJob,
  inspection: InspectResult,
  registry: FormatRegistry,
): Unpacker | undefined {
  if (isUnpacker(job.handler)) return undefined;
  const format = registry.get(inspection.format);
  return isUnpacker(format) ? format : undefined;
}

/**
 * Whether an unpack gave an appliance (several disks and a description) rather than one image.
 *
 * @example
 * ```ts
 * declare const unpacked: LocalImage | UnpackedAppliance;
 * if (isAppliance(unpacked)) console.log(unpacked.disks.length);
 * ```
 */
export function isAppliance(unpacked: LocalImage | UnpackedImage | UnpackedAppliance): unpacked is UnpackedAppliance {
  return "disks" in unpacked;
}

/**
 * Unpacks the job's image (`job.image`, the container) with `handler` into one image in the
 * job's work directory, claimed as the format the handler says, or into an appliance's disks.
 *
 * @example
 * ```ts
 * declare const job: RunningJob, handler: Unpacker;
 * const image = await unpackImage(job, handler); // { path: "<workDir>/disk.vhd", claimed: "vhd", temporary: true }
 * ```
 */
export async function unpackImage(job: RunningJob, handler: Unpacker): Promise<LocalImage | UnpackedAppliance> {
  const unpacked = await handler.unpack(job);
  if (!isAppliance(unpacked)) return { path: unpacked.path, claimed: unpacked.format, temporary: true };
  if (unpacked.disks.length === 0)
    throw new DiskpipeError("plugin-failed", `${handler.name}: the appliance holds no disk`);
  return unpacked;
}
