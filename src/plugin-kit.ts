/**
 * What a format plugin reads an image with, the same helpers the built-in
 * detectors use: bounded reads (offsets straight from an untrusted header are safe to pass),
 * integer and text fields, checksums, and the fields of VHD footers and dynamic headers;
 * and for what a plugin writes, durable writes and a file that leaves holes where the data is
 * zero. Exported by `diskpipe/plugin` and `diskpipe`.
 *
 * @example
 * ```ts
 * import { matchAscii, readAt, u32le, type Detector } from "diskpipe/plugin";
 *
 * const detector: Detector = {
 *   name: "myfmt",
 *   async detect(reader) {
 *     const head = await readAt(reader, 0, 64);
 *     if (!matchAscii(head, 0, "MYFMT")) return null;
 *     return { format: "myfmt", virtualSize: u32le(head, 8) * 512, problems: [] };
 *   },
 * };
 * ```
 * @module
 */
export {
  asciiField,
  hex,
  isZero,
  matchAscii,
  printable,
  u16be,
  u16le,
  u32be,
  u32le,
  u64be,
  u64beBig,
  u64le,
  u64leBig,
  u8,
} from "./core/inspect/bytes.ts";
export { readAt, readChunks } from "./core/inspect/region.ts";
export { qemuLength } from "./core/inspect/sectors.ts";
export { isTarHeader } from "./core/inspect/tar-header.ts";
export { problemOf } from "./core/inspect/problem.ts";
export { qemuProbesDescriptor } from "./core/inspect/vmdk-probe.ts";
export { metadataBound, stringOption } from "./core/format-options.ts";
export { crc32, crc32c } from "./core/inspect/crc.ts";
export { syncPath, writeDurably } from "./core/io/durable.ts";
export { SparseFile } from "./core/io/sparse-file.ts";
export { PluginRefusal, refusalRejection } from "./core/plugin-refusal.ts";
export { quote } from "./core/quote.ts";
export { byteLimit } from "./core/io/byte-limit.ts";
// For container plugins that inspect what they unpack while it arrives (compressed images):
export { GrowingFile } from "./core/io/growing-file.ts";
export { inspectImage } from "./core/inspect/index.ts";
export { rejectUnsafe } from "./core/inspect/reject-unsafe.ts";
export { spawnFilter, type FilterProcess } from "./core/qemu-img-process.ts";
export { findProgram } from "./core/io/find-program.ts";
export type { QemuLimits } from "./core/qemu-img-args.ts";
export {
  readVhdDynamicHeader,
  readVhdFooter,
  vhdChecksum,
  VHD_DYNAMIC_HEADER_SIZE,
  VHD_FOOTER_SIZE,
  type VhdDynamicHeaderFields,
  type VhdFooterFields,
} from "./core/inspect/vhd-fields.ts";
