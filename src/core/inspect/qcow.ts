import type { ImageReader } from "../io/reader.ts";
import { matchAscii, u32be, u64beBig } from "./bytes.ts";
import { problem } from "./problem.ts";
import { readAt } from "./region.ts";
import type { Detection, Detector } from "./types.ts";

/** qcow and qcow2 share their magic; the version tells them apart. */
const MAGIC = "QFI\xfb";
const VERSION = 1;

async function detectQcow(reader: ImageReader): Promise<Detection | null> {
  const head = await readAt(reader, 0, 48);
  if (!matchAscii(head, 0, MAGIC) || u32be(head, 4) !== VERSION) return null;
  return {
    format: "qcow",
    problems: [
      problem("unsupported-format", "qcow (version 1) images are not accepted: diskpipe does not convert this format"),
    ],
    details: { version: VERSION, backingFile: u64beBig(head, 8) !== 0n },
  };
}

/**
 * Detects the original qcow format (qcow2's magic with version 1, which qemu opens with its
 * `qcow` driver) and always rejects it with `unsupported-format`.
 *
 * @example
 * ```ts
 * (await qcowDetector.detect(reader, {}))?.problems[0]?.code; // "unsupported-format"
 * ```
 */
export const qcowDetector: Detector = {
  name: "qcow",
  phase: "head",
  driver: "qcow",
  standIn: true,
  detect: detectQcow,
};
