import { problemOf } from "../../plugin-api.ts";

/**
 * The problem codes the vmdk detector reports besides the common `truncated` (stable;
 * scripts match on them):
 *   vmdk-create-type        createType other than monolithicSparse/streamOptimized (or COWD)
 *   vmdk-extent-file        an extent naming a file (flat, split, VMFS, or in a descriptor file)
 *   vmdk-parent             parentFileNameHint anywhere in the descriptor
 *   vmdk-descriptor-line    unexpected lines, createType outside its key line, unreadable CID
 *   vmdk-descriptor-bounds  descriptor not at sector 1, over 64 KiB, unterminated, overlapping
 *   vmdk-footer             streamOptimized footer missing or inconsistent (grain directory ~0)
 *   vmdk-corrupt-header     version, grain size, grain tables, capacity
 *
 * @example
 * ```ts
 * vmdkProblemCodes.includes("vmdk-create-type"); // true
 * ```
 */
export const vmdkProblemCodes = [
  "vmdk-create-type",
  "vmdk-extent-file",
  "vmdk-parent",
  "vmdk-descriptor-line",
  "vmdk-descriptor-bounds",
  "vmdk-footer",
  "vmdk-corrupt-header",
] as const;

/**
 * A problem of one of the vmdk codes, with its message.
 *
 * @example
 * ```ts
 * vmdkProblem("vmdk-parent", "VMDK names a parent");
 * ```
 */
export const vmdkProblem = problemOf(vmdkProblemCodes);
