import { PluginRefusal } from "../../plugin-api.ts";

/**
 * Problem codes this plugin reports; each becomes a `Problem.code` of an `ImageRejectedError`.
 *
 * @example
 * ```ts
 * const code: ChainProblemCode = "vhd-chain";
 * ```
 */
export type ChainProblemCode = "archive-entry" | "vhd-chain" | "vhd-checksum" | "vhd-corrupt-header" | "truncated";

/**
 * Why a chain tarball or one of its VHDs was refused. The helpers of this plugin throw it without
 * depending on the core; the plugin's `unpack` turns it into an `ImageRejectedError` (exit 3).
 *
 * @example
 * ```ts
 * throw new ChainRejection("vhd-checksum", "1.vhd: footer checksum mismatch");
 * ```
 */
export class ChainRejection extends PluginRefusal<ChainProblemCode> {}
