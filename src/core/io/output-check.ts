import type { JobContext } from "../context.ts";
import { DiskpipeError } from "../errors.ts";
import { inspectFile } from "../inspect/index.ts";
import type { InspectResult } from "../inspect/types.ts";

/**
 * Inspects a finished output before it leaves the machine: the native inspector must detect
 * the target format and find nothing unsafe (as Cinder re-checks a volume before uploading
 * it). Throws `upload-failed` otherwise, listing the problems.
 *
 * @example
 * ```ts
 * declare const sink: Sink;
 * await recheckOutput(sink.target.path, ctx); // before PUT or a store upload
 * ```
 */
export async function recheckOutput(path: string, ctx: JobContext): Promise<InspectResult> {
  const to = ctx.spec.to;
  const accepts = ctx.formats.get(to)?.accepts;
  const result = await inspectFile(path, {
    claimed: to,
    ...(accepts && { accepts }),
    detectors: ctx.formats.detectors(),
  });
  const expected = result.format === to || accepts?.includes(result.format);
  if (!result.safe || !expected) {
    const why = result.problems.map((p) => `${p.message} [${p.code}]`).join("; ") || `detected ${result.format}`;
    throw new DiskpipeError("upload-failed", `the output is not a safe ${to} image, not uploading it: ${why}`, {
      problems: result.problems,
    });
  }
  return result;
}
