import type { Problem } from "../errors.ts";

/**
 * Every problem code the core's inspector reports; format plugins add their own
 * (`FormatDefinition.problemCodes`). Scripts may match on these strings.
 *
 * @example
 * ```ts
 * problemCodes.includes("qcow2-backing-file"); // true
 * ```
 */
export const problemCodes = [
  "truncated",
  "too-large",
  "polyglot",
  "format-mismatch",
  "qcow2-backing-file",
  "qcow2-data-file",
  "qcow2-version",
  "qcow2-unknown-features",
  "qcow2-corrupt-header",
  "qed-banned",
  "vmdk-create-type",
  "vmdk-extent-file",
  "vmdk-parent",
  "vmdk-descriptor-line",
  "vmdk-descriptor-bounds",
  "vmdk-footer",
  "vmdk-corrupt-header",
  "vhd-checksum",
  "vhd-differencing",
  "vhd-corrupt-header",
  "vhdx-corrupt-header",
  "vhdx-differencing",
  "vhdx-log",
  "vdi-corrupt-header",
  "partition-table",
  "unsupported-format",
] as const;

/**
 * One of the built-in problem codes.
 *
 * @example
 * ```ts
 * const code: ProblemCode = "polyglot";
 * ```
 */
export type ProblemCode = (typeof problemCodes)[number];

/**
 * Builds a Problem with a built-in code.
 *
 * @example
 * ```ts
 * const problems: Problem[] = [];
 * problems.push(problem("qcow2-backing-file", "qcow2 names a backing file"));
 * ```
 */
export function problem(code: ProblemCode, message: string): Problem {
  return { code, message };
}
