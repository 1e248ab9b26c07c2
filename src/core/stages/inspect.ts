import type { LocalImage } from "../context.ts";
import { ImageRejectedError, type Problem } from "../errors.ts";
import type { FormatRegistry } from "../formats.ts";
import { inspectFile } from "../inspect/index.ts";
import { rejectUnsafe } from "../inspect/reject-unsafe.ts";
import type { InspectOptions, InspectResult } from "../inspect/types.ts";
import type { RunningJob } from "../job-context.ts";
import { untilAborted } from "../io/temporary-image.ts";
import { isUnpacker } from "./unpack.ts";

const SAFE_VMDK_TYPES = new Set(["monolithicSparse", "streamOptimized"]);

/**
 * The inspector's options for a job: the claimed format (the local image's claim, else the
 * request's, unless `claim` is given), what the claim accepts, the detectors plugins
 * registered and the size bound.
 *
 * @example
 * ```ts
 * declare const path: string, job: RunningJob, registry: FormatRegistry;
 * const result = await inspectFile(path, inspectOptionsFor(job, registry));
 * ```
 */
export function inspectOptionsFor(
  job: RunningJob,
  registry: FormatRegistry,
  claim: string | undefined = job.image?.claimed ?? job.spec.from,
): InspectOptions {
  const options = registry.inspection(claim);
  // Before any container was unpacked, a claim names the image a detected container holds
  // (`--from qcow2` for a .qcow2.xz): the container is accepted, its content must match the claim.
  const containers = isUnpacker(job.handler) ? [] : registry.detectedContainers();
  if (options.claimed !== undefined && containers.length > 0)
    options.accepts = [...(options.accepts ?? [options.claimed]), ...containers];
  return { ...options, ...(job.spec.maxSize !== undefined && { maxSize: job.spec.maxSize }) };
}

/**
 * Inspects the job's local image natively (unless the source already did while streaming),
 * refuses it on any problem, then asks qemu-img for a second opinion that must agree.
 *
 * @example
 * ```ts
 * declare const job: RunningJob, image: LocalImage, registry: FormatRegistry;
 * const inspection = await inspectJob(job, image, registry);
 * ```
 */
export async function inspectJob(
  job: RunningJob,
  image: LocalImage,
  registry: FormatRegistry,
  streamed?: InspectResult,
): Promise<InspectResult> {
  const result =
    streamed ??
    (await inspectFile(image.path, inspectOptionsFor(job, registry, image.claimed ?? job.spec.from), image.region));
  rejectUnsafe(result, job.spec.source);
  await secondOpinion(job, image, registry, result);
  return result;
}

async function secondOpinion(
  job: RunningJob,
  image: LocalImage,
  registry: FormatRegistry,
  result: InspectResult,
): Promise<void> {
  const driver = registry.get(result.format)?.qemuDriver;
  if (!driver) return;
  // qemu-img reads only a complete file.
  if (image.arriving) await untilAborted(image.arriving.complete, job.signal);
  const { path, region } = image;
  const info = await job.qemu.info({ path, format: result.format, driver, options: {}, ...(region && { region }) });
  const problems: Problem[] = [];
  const disagree = (message: string) => problems.push({ code: "second-opinion", message });
  if (info.format !== driver) disagree(`qemu-img reads the image as ${info.format}, the inspector as ${driver}`);
  if (info["virtual-size"] !== result.virtualSize) {
    disagree(`qemu-img reports a virtual size of ${info["virtual-size"]} bytes, the inspector ${result.virtualSize}`);
  }
  if (info["backing-filename"]) disagree(`qemu-img sees a backing file (${info["backing-filename"]})`);
  const data = info["format-specific"]?.data;
  if (data?.["data-file"]) disagree(`qemu-img sees an external data file (${data["data-file"]})`);
  const createType = data?.["create-type"];
  if (createType && !SAFE_VMDK_TYPES.has(createType)) disagree(`VMDK create type ${createType} is not allowed`);
  const limit = job.spec.maxSize ?? Infinity;
  if (info["virtual-size"] > limit) {
    problems.push({
      code: "too-large",
      message: `virtual size ${info["virtual-size"]} exceeds the limit of ${limit} bytes`,
    });
  }
  if (problems.length > 0) {
    throw new ImageRejectedError(
      `${job.spec.source} rejected: ${problems.map((p) => p.message).join("; ")}`,
      problems,
      { stage: "inspect" },
    );
  }
}
