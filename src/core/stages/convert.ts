import { sparseCopy, type ByteRange } from "../io/sparse-copy.ts";
import { rateLimiterFor } from "../io/throttle.ts";
import type { ConvertPlan } from "../job.ts";
import type { RunningJob } from "../job-context.ts";

/**
 * Runs the plan's engine: qemu-img, or the sparse-aware copy for raw to raw; progress is
 * reported against `total`, the virtual size.
 *
 * @example
 * ```ts
 * declare const job: RunningJob, inspection: InspectResult;
 * await runConvert(job, plan, inspection.virtualSize);
 * ```
 */
export async function runConvert(job: RunningJob, plan: ConvertPlan, total: number): Promise<void> {
  if (plan.engine === "copy") {
    // The copy engine honours the same byte rate as qemu-img's -r, and reads only the extents
    // that hold data.
    const ranges = await dataRanges(job, plan);
    await sparseCopy(
      plan.input.path,
      plan.output.path,
      (bytes) => job.progress(bytes, total),
      job.signal,
      rateLimiterFor(plan.flags.rateLimit),
      ranges,
    );
  } else if (plan.engine === "qemu-img") {
    await job.qemu.convert(plan, {
      signal: job.signal,
      onProgress: (percent) => job.progress(Math.round((percent / 100) * total), total),
    });
  }
}

/**
 * The extents of the raw input that hold data, from `qemu-img map` (which asks the file system
 * where the holes are: node:fs cannot). Undefined, so everything is read, when map fails.
 */
async function dataRanges(job: RunningJob, plan: ConvertPlan): Promise<ByteRange[] | undefined> {
  try {
    const ranges: ByteRange[] = [];
    for (const extent of await job.qemu.map(plan.input)) {
      if (!extent.data) continue;
      const last = ranges.at(-1);
      if (last && last.start + last.length === extent.start) last.length += extent.length;
      else ranges.push({ start: extent.start, length: extent.length });
    }
    return ranges;
  } catch (error) {
    if ((error as { code?: string }).code === "aborted") throw error;
    return undefined;
  }
}
