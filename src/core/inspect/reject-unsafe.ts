import { ImageRejectedError } from "../errors.ts";
import type { InspectResult } from "./types.ts";

/**
 * Throws an ImageRejectedError (exit 3) listing the problems when the result is not safe;
 * `stage` is where the error says it happened (a container plugin that inspects what it
 * unpacks says `"unpack"`).
 *
 * @example
 * ```ts
 * import { inspectFile } from "./index.ts";
 * rejectUnsafe(await inspectFile("disk.qcow2"), "disk.qcow2"); // "disk.qcow2 rejected: … [qcow2-backing-file]"
 * ```
 */
export function rejectUnsafe(result: InspectResult, name: string, stage = "inspect"): void {
  if (result.safe) return;
  // The error's own code is printed after the message: a problem of the same code does not repeat it.
  const { code } = new ImageRejectedError("", result.problems);
  const summary = result.problems.map((p) => (p.code === code ? p.message : `${p.message} [${p.code}]`)).join("; ");
  throw new ImageRejectedError(`${name} rejected: ${summary}`, result.problems, { stage });
}
