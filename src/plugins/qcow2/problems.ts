import { problemOf } from "../../plugin-api.ts";

/**
 * The problem codes the qcow2 detector reports besides the common `truncated` (stable;
 * scripts match on them):
 *   qcow2-backing-file      qcow2 names a backing file
 *   qcow2-data-file         an external data file (incompatible bit 2 or extension 0x44415441)
 *   qcow2-version           a version other than 2 or 3 (version 1 is qcow, refused by the core)
 *   qcow2-unknown-features  incompatible feature bits qemu 7.2 does not know (bit 5 and up)
 *   qcow2-corrupt-header    cluster bits, header length, L1/refcount/snapshot tables, extensions
 *
 * @example
 * ```ts
 * qcow2ProblemCodes.includes("qcow2-backing-file"); // true
 * ```
 */
export const qcow2ProblemCodes = [
  "qcow2-backing-file",
  "qcow2-data-file",
  "qcow2-version",
  "qcow2-unknown-features",
  "qcow2-corrupt-header",
] as const;

/**
 * A problem of one of the qcow2 codes, with its message.
 *
 * @example
 * ```ts
 * qcow2Problem("qcow2-backing-file", "qcow2 names a backing file");
 * ```
 */
export const qcow2Problem = problemOf(qcow2ProblemCodes);
