import { PluginRefusal } from "../../plugin-api.ts";

/**
 * The problem codes of the compressed plugin (stable: scripts match on them); each becomes a
 * `Problem.code` of an `ImageRejectedError` (exit 3).
 *
 * @example
 * ```ts
 * COMPRESSED_PROBLEM_CODES.includes("decompression-bomb"); // true
 * ```
 */
export const COMPRESSED_PROBLEM_CODES = [
  "container-mismatch",
  "decompression-bomb",
  "compressed-corrupt",
  "truncated",
  "nested-container",
  "archive-entry",
  "decoder-limit",
] as const;

/**
 * One of {@link COMPRESSED_PROBLEM_CODES}.
 *
 * @example
 * ```ts
 * const code: CompressedProblemCode = "truncated";
 * ```
 */
export type CompressedProblemCode = (typeof COMPRESSED_PROBLEM_CODES)[number];

/**
 * Why a compressed image or the archive inside it was refused. The helpers throw it; the
 * plugin's `unpack` turns it into an `ImageRejectedError` naming the source.
 *
 * @example
 * ```ts
 * throw new Refusal("archive-entry", `"disk.raw" is a symbolic link`);
 * ```
 */
export class Refusal extends PluginRefusal<CompressedProblemCode> {}
