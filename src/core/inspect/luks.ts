import type { ImageReader } from "../io/reader.ts";
import { matchAscii } from "./bytes.ts";
import { problem } from "./problem.ts";
import { readAt } from "./region.ts";
import type { Detection, Detector } from "./types.ts";

/** The signature qemu's luks probe compares. */
const MAGIC = "LUKS\xba\xbe";

async function detectLuks(reader: ImageReader): Promise<Detection | null> {
  const head = await readAt(reader, 0, MAGIC.length);
  // qemu also wants version 1; the magic alone is refused here.
  if (!matchAscii(head, 0, MAGIC)) return null;
  return {
    format: "luks",
    problems: [problem("unsupported-format", "LUKS images are not accepted: no loaded plugin converts this format")],
  };
}

/**
 * Stands in for the LUKS plugin when it is not loaded: detects the signature qemu's `luks`
 * driver probes and rejects the image with `unsupported-format`, so that it is never taken for
 * raw. Left out of an inspection whose detectors include one for that driver.
 *
 * @example
 * ```ts
 * (await luksDetector.detect(reader, {}))?.problems[0]?.code; // "unsupported-format"
 * ```
 */
export const luksDetector: Detector = { name: "luks", phase: "head", driver: "luks", standIn: true, detect: detectLuks };
