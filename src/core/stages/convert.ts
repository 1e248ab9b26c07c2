import { sparseCopy } from "../io/sparse-copy.ts";
import { rateLimiterFor } from "../io/throttle.ts";
import type { ConvertPlan } from "../job.ts";
import type { RunningJob } from "../job-context.ts";

/**
 * Runs the plan's engine: qemu-img, or the sparse-aware copy for raw to raw.
 *
 * @example
 * ```ts
 * await runConvert(job, plan);
 * ```
 */
export async function runConvert(job: RunningJob, plan: ConvertPlan): Promise<void> {
  const total = job.inspection!.virtualSize;
  if (plan.engine === "copy") {
    // The copy engine honours the same byte rate as qemu-img's -r.
    await sparseCopy(plan.input.path, plan.output.path, (bytes) => job.progress(bytes, total), job.signal, rateLimiterFor(plan.flags.rateLimit));
  } else if (plan.engine === "qemu-img") {
    await job.qemu.convert(plan, { signal: job.signal, onProgress: (percent) => job.progress(Math.round((percent / 100) * total), total) });
  }
}
