import { hashImage, parseContentHash } from "../content-hash/index.ts";
import { DiskpipeError, toDiskpipeError } from "../errors.ts";
import { recheckOutput } from "../io/output-check.ts";
import type { ConvertPlan, PlanImage } from "../job.ts";
import type { RunningJob } from "../job-context.ts";

/**
 * Whether a job needs its source's content hash: it verifies the conversion, or pins the
 * source's disk with `contentHash`.
 *
 * @example
 * ```ts
 * declare const job: RunningJob;
 * if (wantsContentHash(job)) console.log("the source is hashed alongside the conversion");
 * ```
 */
export function wantsContentHash(job: RunningJob): boolean {
  return Boolean(job.spec.verify || job.spec.contentHash);
}

/**
 * Hashes the conversion's input (what qemu-img reads: the inspected image, with the plan's
 * secrets) while `convert` runs beside it, so both read the source through the page cache at
 * about the same time; a failed hash stops the conversion.
 *
 * @example
 * ```ts
 * declare const job: RunningJob, plan: ConvertPlan;
 * const hash = await alongside(job, plan, 1 << 30, (signal) => job.qemu.convert(plan, { signal }));
 * ```
 */
export async function alongside(
  job: RunningJob,
  plan: ConvertPlan,
  size: number,
  convert: (signal: AbortSignal) => Promise<void>,
): Promise<string> {
  const stop = new AbortController();
  const onAbort = () => stop.abort(job.signal.reason);
  job.signal.addEventListener("abort", onAbort, { once: true });
  // The first failure stops the other side, and is the one reported (not the other's "aborted").
  let first: { error: unknown } | undefined;
  const fail = (error: unknown) => {
    first ??= { error };
    stop.abort();
  };
  try {
    const converting = convert(stop.signal);
    const hashing = hashImage(job.qemu, plan.input, size, {
      workDir: job.workDir,
      limits: limitsOf(plan),
      secrets: plan.secrets,
      signal: stop.signal,
    });
    converting.catch(fail);
    hashing.catch(fail);
    const [, hashed] = await Promise.allSettled([converting, hashing]);
    if (first) throw first.error;
    if (hashed.status === "rejected") throw hashed.reason;
    return hashed.value.contentHash;
  } finally {
    job.signal.removeEventListener("abort", onAbort);
  }
}

/**
 * Checks the source's content hash against the job's `contentHash`: `checksum-mismatch`
 * (exit 3) when they differ.
 *
 * @example
 * ```ts
 * declare const job: RunningJob;
 * assertContentHash(job, "blk-sha256:…");
 * ```
 */
export function assertContentHash(job: RunningJob, actual: string): void {
  const wanted = job.spec.contentHash;
  if (wanted === undefined) return;
  const expected = parseContentHash(wanted);
  if (expected !== actual)
    throw new DiskpipeError("checksum-mismatch", `content hash mismatch: expected ${expected}, got ${actual}`);
}

/**
 * Verifies the finished output: it is inspected natively as the target format (unless raw,
 * which qemu reads with `-f raw` without parsing anything), then hashed, and its content hash
 * must equal the source's; `verify-failed` (exit 1) otherwise.
 *
 * @example
 * ```ts
 * declare const job: RunningJob, plan: ConvertPlan;
 * await verifyOutput(job, plan, 1 << 30, "blk-sha256:…");
 * ```
 */
export async function verifyOutput(job: RunningJob, plan: ConvertPlan, size: number, source: string): Promise<void> {
  const output = outputImage(plan);
  if (output.driver !== "raw") {
    const inspected = await recheckOutput(output.path, job).catch((error: unknown) => {
      throw new DiskpipeError(
        "verify-failed",
        toDiskpipeError(error).message.replace("not uploading it", "not verifying it"),
      );
    });
    if (inspected.virtualSize !== size)
      throw new DiskpipeError(
        "verify-failed",
        `the output's virtual size ${inspected.virtualSize} differs from the source's ${size}`,
      );
  }
  const { contentHash } = await hashImage(job.qemu, output, size, {
    workDir: job.workDir,
    limits: limitsOf(plan),
    secrets: plan.secrets,
    signal: job.signal,
    onProgress: (bytes, total) => job.progress(bytes, total),
  });
  if (contentHash !== source)
    throw new DiskpipeError(
      "verify-failed",
      `the output's content hash ${contentHash} differs from the source's ${source}: the conversion did not preserve the disk`,
    );
}

/** The output as qemu opens it: an encrypted output needs its key secret, nothing else of the creation options. */
function outputImage(plan: ConvertPlan): PlanImage {
  const secret = plan.output.options["key-secret"];
  return { ...plan.output, options: secret === undefined ? {} : { "key-secret": secret } };
}

function limitsOf(plan: ConvertPlan): { cpuSeconds: number; addressSpace: number } {
  return plan.limits ?? { cpuSeconds: 60, addressSpace: 2 * 1024 ** 3 };
}
