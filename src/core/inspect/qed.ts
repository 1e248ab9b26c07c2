import type { ImageReader } from "../io/reader.ts";
import { matchAscii, u64le } from "./bytes.ts";
import { problem } from "./problem.ts";
import { readAt } from "./region.ts";
import type { Detection, Detector } from "./types.ts";

async function detectQed(reader: ImageReader): Promise<Detection | null> {
  const head = await readAt(reader, 0, 64);
  if (!matchAscii(head, 0, "QED\0")) return null;
  const size = u64le(head, 48);
  return {
    format: "qed",
    virtualSize: Number.isSafeInteger(size) ? size : undefined,
    problems: [problem("qed-banned", "QED images are not accepted (the format is deprecated and has backing files)")],
  };
}

/**
 * Detects QED and always rejects it: diskpipe does not convert QED.
 *
 * @example
 * ```ts
 * (await qedDetector.detect(reader, {}))?.problems[0]?.code; // "qed-banned"
 * ```
 */
export const qedDetector: Detector = { name: "qed", phase: "head", detect: detectQed };
