/**
 * The native format inspector: reads only the headers each format needs (well under 1 MiB
 * per image) and decides, before qemu-img ever opens an untrusted image, what it is and
 * whether it is safe to convert.
 *
 * Problem codes of the core (stable; scripts match on them):
 *   truncated               an image shorter than its headers or tables say
 *   too-large               virtual size above `maxSize`
 *   polyglot                valid as more than one format
 *   format-mismatch         detected format is not what was claimed
 *   qed-banned              any QED image
 *   unsupported-format      a format qemu-img's probe recognizes but no loaded plugin converts (qcow v1, bochs,
 *                           cloop always; qcow2, vmdk, vhd, vhdx, vdi, parallels, luks when their plugin is absent)
 *
 * The formats themselves are plugins (src/plugins/<format>/), each with its detector and its
 * problem codes (`FormatDefinition.detect`, `FormatDefinition.problemCodes`); the standard
 * ones are loaded by default, through the same path as a third party's.
 *
 * Parity with qemu's own probe: whatever qemu-img 7.2 would open as another format when given
 * no `-f` (its probes read the first 512 bytes; dmg's alone goes by the file name) is never
 * called raw here: a detector claims it, and rejects it if diskpipe does not convert it.
 */
import { regionReader, type ImageRegion } from "../io/image-region.ts";
import { openFileReader, type ImageReader } from "../io/reader.ts";
import { bochsDetector } from "./bochs.ts";
import { cloopDetector } from "./cloop.ts";
import { qcowDetector } from "./qcow.ts";
import { qedDetector } from "./qed.ts";
import { guardReader, runPhase, watchSize } from "./run.ts";
import { probeStandIns } from "./stand-ins.ts";
import type { Detector, InspectOptions, InspectResult } from "./types.ts";
import { headSettles, verdict, type Found } from "./verdict.ts";

export { checkClaim } from "./claim.ts";
export { problemCodes, type ProblemCode } from "./problem.ts";
export type { DetectContext, Detection, Detector, HeaderFacts, InspectOptions, InspectResult } from "./types.ts";
export { bochsDetector, cloopDetector, probeStandIns, qcowDetector, qedDetector };

/** How long an early verdict waits for a stream's size before reporting -1. */
const SIZE_GRACE_MS = 100;

/**
 * The core's detectors, which every inspection runs before the formats' own: refusals of the
 * formats qemu's probe knows that diskpipe never converts (qcow v1, QED, Bochs, cloop), and
 * the stand-ins for format plugins that are not loaded.
 *
 * @example
 * ```ts
 * builtinDetectors.map((d) => d.name); // ["qcow", "qed", "bochs", "cloop", "qcow2", …, "vhd"]
 * ```
 */
export const builtinDetectors: readonly Detector[] = Object.freeze([
  qcowDetector,
  qedDetector,
  bochsDetector,
  cloopDetector,
  ...probeStandIns,
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
  const context = {
    inChainContainer: options.inChainContainer === true,
    ...(options.onHeader && { onHeader: options.onHeader }),
  };
  const guard = guardReader(reader);
  const size = watchSize(guard.reader);
  const found: Found[] = [];
  try {
    const stoppedEarly = await runPhase(head, 0, guard.reader, context, found, (f) => headSettles(f, options));
    if (stoppedEarly) return { ...verdict(found, options, await size.soon(SIZE_GRACE_MS)), stoppedEarly };
    if (options.onHeadVerdict) {
      const early = verdict(found, options, 0);
      if (early.safe) options.onHeadVerdict(early);
    }
    // Stryker disable next-line ArrowFunction: a settles answering undefined is as falsy as false
    await runPhase(tail, head.length, guard.reader, context, found, () => false);
    return verdict(found, options, await size.promise);
  } finally {
    guard.release();
  }
}

/**
 * Opens a local file or block device, inspects it (or only the byte range `region` of it: an
 * archive member read in place) and closes it. A missing file rejects with Node's ENOENT error
 * for the caller to map.
 *
 * @example
 * ```ts
 * const result = await inspectFile("disk.vmdk", { claimed: "vmdk" });
 * console.log(result.format, result.variant, result.virtualSize, result.problems);
 * const member = await inspectFile("vm.ova", {}, { offset: 3072, length: 65536 });
 * ```
 */
export async function inspectFile(
  path: string,
  options: InspectOptions = {},
  region?: ImageRegion,
): Promise<InspectResult> {
  const file = await openFileReader(path);
  const reader = region ? regionReader(file, region) : file;
  try {
    return await inspectImage(reader, options);
  } finally {
    await reader.close();
  }
}
