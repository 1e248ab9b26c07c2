import type { ImageReader } from "../io/reader.ts";
import { asciiField, matchAscii, u32le } from "./bytes.ts";
import { problem } from "./problem.ts";
import { readAt } from "./region.ts";
import type { Detection, Detector } from "./types.ts";

const MAGIC = "Bochs Virtual HD Image";

async function detectBochs(reader: ImageReader): Promise<Detection | null> {
  const head = await readAt(reader, 0, 72);
  // qemu also wants a "Redolog"/"Growing" header of version 1 or 2; the magic alone is refused here.
  if (!matchAscii(head, 0, MAGIC)) return null;
  return {
    format: "bochs",
    problems: [problem("unsupported-format", "Bochs images are not accepted: diskpipe does not convert this format")],
    details: { type: asciiField(head, 32, 16), subtype: asciiField(head, 48, 16), version: u32le(head, 64) },
  };
}

/**
 * Detects Bochs disk images (`Bochs Virtual HD Image` at offset 0), which qemu's `bochs` driver
 * opens, and always rejects them with `unsupported-format`.
 *
 * @example
 * ```ts
 * (await bochsDetector.detect(reader, {}))?.format; // "bochs"
 * ```
 */
export const bochsDetector: Detector = {
  name: "bochs",
  phase: "head",
  driver: "bochs",
  standIn: true,
  detect: detectBochs,
};
