import { PluginRefusal } from "../../plugin-api.ts";

/**
 * The problem codes of the ova plugin (stable: scripts match on them); each becomes a
 * `Problem.code` of an `ImageRejectedError` (exit 3), and `checksum-mismatch` the error code
 * of a manifest digest that does not match (exit 3 too).
 *
 * @example
 * ```ts
 * OVA_PROBLEM_CODES.includes("ova-href-unsafe"); // true
 * ```
 */
export const OVA_PROBLEM_CODES = [
  "ova-descriptor-invalid",
  "ova-manifest-invalid",
  "ova-href-unsafe",
  "ova-unsupported",
  "archive-entry",
  "truncated",
  "disk-too-large",
  "decompression-bomb",
  "checksum-mismatch",
  "ovf-files",
] as const;

/**
 * One of {@link OVA_PROBLEM_CODES}.
 *
 * @example
 * ```ts
 * const code: OvaProblemCode = "ova-href-unsafe";
 * ```
 */
export type OvaProblemCode = (typeof OVA_PROBLEM_CODES)[number];

/**
 * Why an appliance was refused: what the descriptor, manifest and archive readers throw.
 *
 * @example
 * ```ts
 * throw new OvaRefusal("ova-href-unsafe", `disk file "../etc/passwd" is not a member name`);
 * ```
 */
export class OvaRefusal extends PluginRefusal<OvaProblemCode> {}
