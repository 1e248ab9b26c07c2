import type { Problem } from "../errors.ts";

/**
 * The problem codes the core's inspector reports itself; each format plugin lists its own
 * (`FormatDefinition.problemCodes`). Scripts may match on these strings.
 *
 * @example
 * ```ts
 * problemCodes.includes("polyglot"); // true
 * ```
 */
export const problemCodes = [
  "truncated",
  "too-large",
  "polyglot",
  "format-mismatch",
  "qed-banned",
  "unsupported-format",
] as const;

/**
 * One of the core's problem codes.
 *
 * @example
 * ```ts
 * const code: ProblemCode = "polyglot";
 * ```
 */
export type ProblemCode = (typeof problemCodes)[number];

/**
 * Builds a Problem with one of the core's codes.
 *
 * @example
 * ```ts
 * const problems: Problem[] = [];
 * problems.push(problem("unsupported-format", "cloop images are not accepted"));
 * ```
 */
export function problem(code: ProblemCode, message: string): Problem {
  return { code, message };
}

/**
 * A Problem builder typed by a format's own codes (and the common `truncated`), so that a
 * detector cannot report a code its format does not list in `problemCodes`.
 *
 * @example
 * ```ts
 * export const myProblemCodes = ["myfmt-corrupt-header"] as const;
 * const problem = problemOf(myProblemCodes);
 * problem("myfmt-corrupt-header", "the header is corrupt");
 * ```
 */
export function problemOf<const C extends string>(
  codes: readonly C[],
): (code: C | "truncated", message: string) => Problem {
  void codes;
  return (code, message) => ({ code, message });
}
