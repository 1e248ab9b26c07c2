/**
 * The native format inspector: reads only the headers each format needs (well under 1 MiB
 * per image) and decides, before qemu-img ever opens an untrusted image, what it is and
 * whether it is safe to convert.
 *
 * Problem codes (stable; scripts match on them):
 *   truncated               an image shorter than its headers or tables say
 *   too-large               virtual size above `maxSize`
 *   polyglot                valid as more than one format
 *   format-mismatch         detected format is not what was claimed
 *   qcow2-backing-file      qcow2 names a backing file
 *   qcow2-data-file         qcow2 external data file (incompatible bit 2 or extension 0x44415441)
 *   qcow2-version           qcow2 magic with a version other than 1, 2 or 3 (1 is qcow: unsupported-format)
 *   qcow2-unknown-features  incompatible feature bits qemu 7.2 does not know (bit 5 and up)
 *   qcow2-corrupt-header    cluster bits, header length, L1/refcount/snapshot tables, extensions
 *   qed-banned              any QED image
 *   vmdk-create-type        createType other than monolithicSparse/streamOptimized (or COWD)
 *   vmdk-extent-file        an extent naming a file (flat, split, VMFS, or in a descriptor file)
 *   vmdk-parent             parentFileNameHint anywhere in the descriptor
 *   vmdk-descriptor-line    unexpected lines, createType outside its key line, unreadable CID
 *   vmdk-descriptor-bounds  descriptor not at sector 1, over 64 KiB, unterminated, overlapping
 *   vmdk-footer             streamOptimized footer missing or inconsistent (grain directory ~0)
 *   vmdk-corrupt-header     version, grain size, grain tables, capacity
 *   vhd-checksum            footer or dynamic header checksum wrong
 *   vhd-differencing        a differencing VHD outside a chain container
 *   vhd-corrupt-header      disk type, footer copies, dynamic header, block table
 *   vhdx-corrupt-header     headers, log placement, region table, metadata, BAT; 4 KiB logical sectors
 *   vhdx-differencing       a VHDX with a parent
 *   vhdx-log                a VHDX log that would need replaying
 *   vdi-corrupt-header      version, offsets, block size, parent/link UUIDs
 *   partition-table         GPT header/entries CRC or bounds, MBR partitions past the end
 *   unsupported-format      a format qemu-img's probe recognizes but diskpipe does not convert (qcow v1, bochs,
 *                           cloop, and parallels or luks unless a plugin for it is loaded)
 *
 * Format plugins add their own detectors and problem codes (`FormatDefinition.detect`,
 * `FormatDefinition.problemCodes`).
 *
 * Parity with qemu's own probe: whatever qemu-img 7.2 would open as another format when given
 * no `-f` (its probes read the first 512 bytes; dmg's alone goes by the file name) is never
 * called raw here: a detector claims it, and rejects it if diskpipe does not convert it.
 */
import { openFileReader, type ImageReader } from "../io/reader.ts";
import { bochsDetector } from "./bochs.ts";
import { cloopDetector } from "./cloop.ts";
import { isoDetector } from "./iso.ts";
import { luksDetector } from "./luks.ts";
import { parallelsDetector } from "./parallels.ts";
import { partitionDetector } from "./partition.ts";
import { qcowDetector } from "./qcow.ts";
import { qcow2Detector } from "./qcow2.ts";
import { qedDetector } from "./qed.ts";
import { guardReader, runPhase, watchSize } from "./run.ts";
import type { Detector, InspectOptions, InspectResult } from "./types.ts";
import { vdiDetector } from "./vdi.ts";
import { headSettles, verdict, type Found } from "./verdict.ts";
import { vhdDetector } from "./vhd.ts";
import { vhdxDetector } from "./vhdx.ts";
import { vmdkDetector } from "./vmdk.ts";

export { checkClaim } from "./claim.ts";
export { problemCodes, type ProblemCode } from "./problem.ts";
export type { DetectContext, Detection, Detector, HeaderFacts, InspectOptions, InspectResult } from "./types.ts";
export { bochsDetector, cloopDetector, isoDetector, luksDetector, parallelsDetector, partitionDetector, qcowDetector, qcow2Detector, qedDetector, vdiDetector, vhdDetector, vhdxDetector, vmdkDetector };

/** How long an early verdict waits for a stream's size before reporting -1. */
const SIZE_GRACE_MS = 100;

/**
 * The detectors every inspection runs, in priority order (the first match names a polyglot).
 *
 * @example
 * ```ts
 * builtinDetectors.map((d) => d.name); // ["qcow2", "qcow", "qed", "vmdk", …, "vhd"]
 * ```
 */
export const builtinDetectors: readonly Detector[] = Object.freeze([
  qcow2Detector,
  qcowDetector,
  qedDetector,
  vmdkDetector,
  vhdxDetector,
  vdiDetector,
  parallelsDetector,
  luksDetector,
  bochsDetector,
  cloopDetector,
  isoDetector,
  partitionDetector,
  vhdDetector,
]);

/**
 * Inspects an image through any reader. Runs every detector (built-ins plus
 * `options.detectors`, a stand-in left out where one of those detects its driver): "head"
 * detectors first, concurrently; as soon as their matches settle a rejection (a problem in a
 * matched format, a polyglot, a mismatched claim, too large) it returns without running "tail"
 * detectors, so a hostile download is refused without waiting for its end (`stoppedEarly` is then true, and `actualSize` is -1 if the size was unknown).
 * Otherwise the tail detectors run and the verdict covers everything.
 *
 * @example
 * ```ts
 * const result = await inspectImage(reader, { claimed: "qcow2", maxSize: 2 ** 40 });
 * if (!result.safe) throw new ImageRejectedError("unsafe image", result.problems);
 * ```
 */
export async function inspectImage(reader: ImageReader, options: InspectOptions = {}): Promise<InspectResult> {
  const added = options.detectors ?? [];
  const served = new Set(added.map((d) => d.driver));
  const detectors = [...builtinDetectors.filter((d) => !(d.standIn && served.has(d.driver))), ...added];
  const head = detectors.filter((d) => d.phase !== "tail");
  const tail = detectors.filter((d) => d.phase === "tail");
  const context = { inChainContainer: options.inChainContainer === true, ...(options.onHeader && { onHeader: options.onHeader }) };
  const guard = guardReader(reader);
  const size = watchSize(guard.reader);
  const found: Found[] = [];
  try {
    const stoppedEarly = await runPhase(head, 0, guard.reader, context, found, (f) => headSettles(f, options));
    if (stoppedEarly) return { ...verdict(found, options, await size.soon(SIZE_GRACE_MS)), stoppedEarly };
    // Stryker disable next-line ArrowFunction: a settles answering undefined is as falsy as false
    await runPhase(tail, head.length, guard.reader, context, found, () => false);
    return verdict(found, options, await size.promise);
  } finally {
    guard.release();
  }
}

/**
 * Opens a local file or block device, inspects it and closes it. A missing file rejects with
 * Node's ENOENT error for the caller to map.
 *
 * @example
 * ```ts
 * const result = await inspectFile("disk.vmdk", { claimed: "vmdk" });
 * console.log(result.format, result.variant, result.virtualSize, result.problems);
 * ```
 */
export async function inspectFile(path: string, options: InspectOptions = {}): Promise<InspectResult> {
  const reader = await openFileReader(path);
  try {
    return await inspectImage(reader, options);
  } finally {
    await reader.close();
  }
}
