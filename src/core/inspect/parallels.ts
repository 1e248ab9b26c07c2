import type { ImageReader } from "../io/reader.ts";
import { matchAscii } from "./bytes.ts";
import { problem } from "./problem.ts";
import { readAt } from "./region.ts";
import type { Detection, Detector } from "./types.ts";

/** The two signatures qemu's parallels probe compares (the old one and the one with extensions). */
const MAGICS = ["WithoutFreeSpace", "WithouFreSpacExt"];

async function detectParallels(reader: ImageReader): Promise<Detection | null> {
  const head = await readAt(reader, 0, 16);
  // qemu also wants version 2 in a full 64-byte header; the magic alone is refused here.
  if (!MAGICS.some((magic) => matchAscii(head, 0, magic))) return null;
  return {
    format: "parallels",
    problems: [problem("unsupported-format", "Parallels images (qemu's parallels driver) are not accepted: no loaded plugin converts this format")],
  };
}

/**
 * Stands in for a Parallels format plugin that is not loaded: detects either signature qemu's
 * `parallels` driver probes and rejects the image with `unsupported-format`, so that it is
 * never taken for raw. Left out of an inspection whose detectors include one for that driver.
 *
 * @example
 * ```ts
 * (await parallelsDetector.detect(reader, {}))?.problems[0]?.code; // "unsupported-format"
 * ```
 */
export const parallelsDetector: Detector = { name: "parallels", phase: "head", driver: "parallels", standIn: true, detect: detectParallels };
