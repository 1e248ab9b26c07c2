import { lstat } from "node:fs/promises";
import { dirname } from "node:path";
import { DiskpipeError, toDiskpipeError } from "../errors.ts";
import { formatSize } from "../size.ts";
import { freeSpace } from "./space.ts";

/**
 * Turns a "no space" failure while writing `path` into one that says where and how much:
 * the directory, the bytes written before it ran out, the estimate, and what is free now.
 * Any other error comes back unchanged.
 *
 * @example
 * ```ts
 * import { runConvert } from "../stages/convert.ts";
 * import type { RunningJob } from "../job-context.ts";
 * declare const job: RunningJob, target: { path: string }, needed: number;
 * await runConvert(job, plan, needed).catch(async (e: unknown) => { throw await explainNoSpace(e, target.path, needed, "the output (out.raw)"); });
 * ```
 */
export async function explainNoSpace(
  error: unknown,
  path: string,
  needed: number | undefined,
  what: string,
): Promise<unknown> {
  const failure = toDiskpipeError(error);
  if (failure.code !== "no-space") return error;
  const where = dirname(path);
  const written = ((await lstat(path).catch(() => undefined))?.blocks ?? 0) * 512;
  const free = await freeSpace(where).catch(() => undefined);
  const parts = [`${formatSize(written)} written`];
  if (needed !== undefined) parts.push(`about ${formatSize(needed)} needed`);
  if (free !== undefined) parts.push(`${formatSize(free)} free`);
  return new DiskpipeError("no-space", `no space left in ${where} while writing ${what}: ${parts.join(", ")}`, {
    cause: error,
    ...(failure.stage && { stage: failure.stage }),
  });
}
