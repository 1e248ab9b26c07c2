import { randomBytes } from "node:crypto";
import { open } from "node:fs/promises";

const MiB = 1024 * 1024;

/**
 * A raw disk that compresses like a real one: per 16 MiB, 4 MiB of random bytes (packages,
 * already compressed), 4 MiB of text (base64: logs, configuration) and 8 MiB of zeroes (holes).
 * Random bytes come from a seeded generator so the image is the same on every run of one bench.
 *
 * @example
 * ```ts
 * await writeCompressibleImage("/var/tmp/bench/cloud.raw", 512 * 1024 * 1024);
 * ```
 */
export async function writeCompressibleImage(path: string, size: number): Promise<void> {
  const file = await open(path, "wx");
  try {
    await file.truncate(size);
    for (let offset = 0; offset < size; offset += 16 * MiB) {
      const noise = randomBytes(Math.min(4 * MiB, size - offset));
      await file.write(noise, 0, noise.length, offset);
      const textAt = offset + 4 * MiB;
      if (textAt >= size) break;
      const text = Buffer.from(randomBytes(3 * MiB).toString("base64")).subarray(0, Math.min(4 * MiB, size - textAt));
      await file.write(text, 0, text.length, textAt);
    }
  } finally {
    await file.close();
  }
}
