import type { ImageReader } from "../io/reader.ts";
import { matchAscii } from "./bytes.ts";
import { problem } from "./problem.ts";
import { readAt } from "./region.ts";
import type { Detection, Detector } from "./types.ts";

/** The V2.0 signature qemu's cloop probe compares, all of it. */
const MAGIC = "#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n";

async function detectCloop(reader: ImageReader): Promise<Detection | null> {
  const head = await readAt(reader, 0, MAGIC.length);
  if (!matchAscii(head, 0, MAGIC)) return null;
  return {
    format: "cloop",
    variant: "v2.0",
    problems: [problem("unsupported-format", "cloop images are not accepted: diskpipe does not convert this format")],
  };
}

/**
 * Detects compressed loop images (the cloop V2.0 shell-script signature at offset 0), which
 * qemu's `cloop` driver opens, and always rejects them with `unsupported-format`.
 *
 * @example
 * ```ts
 * (await cloopDetector.detect(reader, {}))?.format; // "cloop"
 * ```
 */
export const cloopDetector: Detector = {
  name: "cloop",
  phase: "head",
  driver: "cloop",
  standIn: true,
  detect: detectCloop,
};
