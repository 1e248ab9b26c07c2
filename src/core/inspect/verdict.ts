import type { Problem } from "../errors.ts";
import { checkClaim } from "./claim.ts";
import { problem } from "./problem.ts";
import { qemuLength } from "./sectors.ts";
import type { Detection, Detector, InspectOptions, InspectResult } from "./types.ts";

/**
 * One detector's match, with the detector's position in the run order.
 *
 * @example
 * ```ts
 * declare const detector: Detector;
 * const found: Found = { detector, detection: { format: "qcow2", problems: [] }, order: 0 };
 * ```
 */
export interface Found {
  detector: Detector;
  detection: Detection;
  order: number;
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = JSON.stringify([p.code, p.message]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Turns the matches into a verdict. Formats other than raw win: one is the image's format,
 * two or more are a polyglot, and partition-table (raw) matches are then ignored with their
 * problems (a hybrid ISO's MBR, a VHD's disk content). With no other match, a partition table
 * (or nothing) makes the image raw. Then the size limit and the claim are checked.
 *
 * @example
 * ```ts
 * declare const found: Found[], fileSize: number;
 * const result = verdict(found, { claimed: "raw", maxSize: 2 ** 40 }, fileSize);
 * result.safe; // false for a qcow2
 * ```
 */
export function verdict(found: Found[], options: InspectOptions, fileSize: number): InspectResult {
  const sorted = [...found].sort((a, b) => a.order - b.order);
  const formats = sorted.filter((f) => f.detection.format !== "raw");
  const partitions = sorted.filter((f) => f.detection.format === "raw");
  const primary = (formats[0] ?? partitions[0])?.detection;
  const problems: Problem[] = [];
  for (const f of formats.length > 0 ? formats : partitions.slice(0, 1)) problems.push(...f.detection.problems);
  if (formats.length > 1) {
    const names = formats.map((f) => f.detection.format).join(" and ");
    problems.push(
      problem("polyglot", `the image is valid as more than one format (${names}); qemu-img could read it either way`),
    );
  }
  const format = primary?.format ?? "raw";
  const variant = primary?.variant;
  // Stryker disable next-line EqualityOperator: at 0 both branches give 0 (qemuLength(0) is 0)
  const virtualSize = primary?.virtualSize ?? (fileSize < 0 ? fileSize : qemuLength(fileSize));
  // Stryker disable next-line ConditionalExpression: without a limit, a number compared with undefined is false anyway
  if (options.maxSize !== undefined && virtualSize > options.maxSize) {
    problems.push(problem("too-large", `virtual size ${virtualSize} exceeds the limit of ${options.maxSize} bytes`));
  }
  if (options.claimed !== undefined) {
    const mismatch = checkClaim(options.claimed, { format, variant }, options.accepts);
    if (mismatch) problems.push(mismatch);
  }
  const details: Record<string, unknown> = { ...primary?.details };
  if (formats.length > 0 && partitions.length > 0) details.partitionTable = partitions[0]?.detection.variant;
  if (formats.length > 1) details.polyglot = formats.map((f) => f.detection.format);
  const unique = dedupe(problems);
  return {
    format,
    ...(variant !== undefined && { variant }),
    virtualSize,
    actualSize: fileSize,
    safe: unique.length === 0,
    problems: unique,
    matches: sorted.map((f) => f.detector.name),
    details,
  };
}

/**
 * True when head matches already force a rejection whatever the tail adds: a format other
 * than raw matched and the verdict has problems (its own, a polyglot, the size limit or the
 * claim). Partition-table problems alone do not settle it, since a tail format would override them.
 *
 * @example
 * ```ts
 * declare const found: Found[], options: InspectOptions, knownSize: number;
 * const settled = headSettles(found, options) ? verdict(found, options, knownSize) : undefined;
 * ```
 */
export function headSettles(found: Found[], options: InspectOptions): boolean {
  if (!found.some((f) => f.detection.format !== "raw")) return false;
  return !verdict(found, options, 0).safe;
}
