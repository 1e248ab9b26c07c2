import type { LocalImage } from "../context.ts";
import type { FormatRegistry } from "../formats.ts";
import type { InspectResult } from "../inspect/types.ts";
import type { RunningJob } from "../job-context.ts";
import { lstat, realpath } from "node:fs/promises";
import { isAbsolute, relative } from "node:path";
import { DiskpipeError } from "../errors.ts";
import { isByteRange } from "../io/image-region.ts";
import { untilAborted } from "../io/temporary-image.ts";
import { quote } from "../quote.ts";
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
  const container = job.image;
  const unpacked = await unpackWhole(job, handler);
  if (!isAppliance(unpacked)) {
    await assertSafePlace(job, handler, unpacked, container);
    return {
      path: unpacked.path,
      claimed: unpacked.format,
      // Stryker disable next-line BooleanLiteral: nothing reads a local image's temporary flag after the fetch
      temporary: !unpacked.region,
      ...(unpacked.region && { region: unpacked.region }),
    };
  }
  if (unpacked.disks.length === 0)
    throw new DiskpipeError("plugin-failed", `${handler.name}: the appliance holds no disk`);
  for (const disk of unpacked.disks) await assertSafePlace(job, handler, disk, container);
  return unpacked;
}

/**
 * An unpacked image is a file the handler wrote into the work directory, or a byte range of
 * the container itself: the fetched image, which the core pinned (nobody else can change it).
 */
async function assertSafePlace(
  job: RunningJob,
  handler: Unpacker,
  unpacked: UnpackedImage,
  container: LocalImage | undefined,
): Promise<void> {
  if (!unpacked.region) return assertInWorkDir(job, handler, unpacked.path);
  const { offset, length } = unpacked.region;
  const refuse = (why: string) =>
    new DiskpipeError("plugin-failed", `${handler.name}: the unpacked image ${quote(unpacked.path)} ${why}`);
  if (container === undefined || container.region || unpacked.path !== container.path)
    throw refuse("is a byte range of a file other than the container diskpipe fetched");
  if (!isByteRange(unpacked.region))
    throw refuse(`names a byte range that is not one (offset ${offset}, length ${length})`);
}

/**
 * What an unpack gives must be a regular file it wrote into the job's work directory: a path
 * elsewhere (or a link leading there), which a handler misled by a hostile container could
 * name, would have the core convert a host file.
 */
async function assertInWorkDir(job: RunningJob, handler: Unpacker, path: string): Promise<void> {
  const refuse = (why: string) =>
    new DiskpipeError("plugin-failed", `${handler.name}: the unpacked image ${quote(path)} ${why}`);
  const [root, real] = await Promise.all([realpath(job.workDir), realpath(path).catch(() => undefined)]);
  const inside = real === undefined ? undefined : relative(root, real);
  if (inside === undefined || inside === "" || inside.startsWith("..") || isAbsolute(inside))
    throw refuse("is not in the job's work directory");
  if (!(await lstat(path)).isFile()) throw refuse("is not a regular file");
}

/**
 * Runs the handler's unpack on an image still arriving only when the handler reads it that way
 * (else once it is complete), and returns only once it is complete and its checksum holds. A
 * download that failed is the error, not what the unpack made of the missing bytes. The wait
 * for the rest of the download ends with the job (an abort does not wait for a stalled server).
 */
async function unpackWhole(job: RunningJob, handler: Unpacker): Promise<UnpackedImage | UnpackedAppliance> {
  const image = job.image;
  if (!image?.arriving) return handler.unpack(job);
  const { arriving } = image;
  let failed: { error: unknown } | undefined;
  arriving.complete.catch((error: unknown) => (failed = { error }));
  const complete = () => untilAborted(arriving.complete, job.signal);
  if (handler.unpacksArriving !== true) {
    await complete();
    job.image = { ...image, arriving: undefined };
    return handler.unpack(job);
  }
  try {
    const unpacked = await handler.unpack(job);
    await complete();
    return unpacked;
  } catch (error) {
    // Lets a download failure that is already known reach the handler above.
    await new Promise((resolve) => setImmediate(resolve));
    throw failed ? failed.error : error;
  }
}
