import { BLOCK_SIZE, ContentHasher } from "../content-hash/index.ts";
import { readRanges } from "../content-hash/extents.ts";
import { sparseCopy, type ByteRange } from "../io/sparse-copy.ts";
import { rateLimiterFor } from "../io/throttle.ts";
import type { ConvertPlan } from "../job.ts";
import type { RunningJob } from "../job-context.ts";
import { alongside } from "./content-check.ts";

/**
 * Runs the plan's engine: qemu-img, or the sparse-aware copy for raw to raw; progress is
 * reported against `total`, the virtual size. With `hash`, also returns the source's content
 * hash: the copy engine hashes the bytes it copies (no second read), qemu-img's conversion
 * runs beside a hash of its input.
 *
 * @example
 * ```ts
 * declare const job: RunningJob, inspection: InspectResult;
 * await runConvert(job, plan, inspection.virtualSize);
 * ```
 */
export async function runConvert(
  job: RunningJob,
  plan: ConvertPlan,
  total: number,
  hash = false,
): Promise<string | undefined> {
  if (plan.engine === "copy") return copy(job, plan, total, hash);
  const convert = async (signal: AbortSignal) => {
    if (plan.engine !== "qemu-img") return;
    await job.qemu.convert(plan, {
      signal,
      onProgress: (percent) => job.progress(Math.round((percent / 100) * total), total),
    });
  };
  if (hash) return alongside(job, plan, total, convert);
  await convert(job.signal);
  return undefined;
}

/**
 * The copy engine, honouring the same byte rate as qemu-img's -r, reading only the extents that
 * hold data; with `hash`, those extents widened to whole 64 KiB blocks, each chunk fed to the
 * content hash as it passes.
 */
async function copy(job: RunningJob, plan: ConvertPlan, total: number, hash: boolean): Promise<string | undefined> {
  const extents = await dataExtents(job, plan);
  const hasher = hash ? new ContentHasher(total) : undefined;
  const ranges = hasher
    ? readRanges(extents ?? [{ start: 0, length: total, data: true, zero: false }], total).map(
        ({ start, end }): ByteRange => ({ start, length: end - start }),
      )
    : extents && merged(extents);
  await sparseCopy(
    plan.input.path,
    plan.output.path,
    (bytes) => job.progress(bytes, total),
    job.signal,
    rateLimiterFor(plan.flags.rateLimit),
    ranges,
    hasher &&
      ((offset, data) => {
        hasher.zeros(offset / BLOCK_SIZE - hasher.position);
        hasher.data(data);
      }),
  );
  if (!hasher) return undefined;
  hasher.zeros(hasher.blocks - hasher.position);
  return hasher.digest();
}

/** `qemu-img map`'s extents of the raw input (it asks the file system where the holes are: node:fs cannot); undefined, so everything is read, when map fails. */
async function dataExtents(job: RunningJob, plan: ConvertPlan) {
  try {
    return await job.qemu.map(plan.input);
  } catch (error) {
    if ((error as { code?: string }).code === "aborted") throw error;
    return undefined;
  }
}

/** The extents that hold data, adjacent ones merged. */
function merged(extents: ReadonlyArray<{ start: number; length: number; data: boolean }>): ByteRange[] {
  const ranges: ByteRange[] = [];
  for (const extent of extents) {
    if (!extent.data) continue;
    const last = ranges.at(-1);
    if (last && last.start + last.length === extent.start) last.length += extent.length;
    else ranges.push({ start: extent.start, length: extent.length });
  }
  return ranges;
}
