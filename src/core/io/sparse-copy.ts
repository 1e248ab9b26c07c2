import { open } from "node:fs/promises";
import type { RateLimiter } from "./throttle.ts";

const CHUNK = 1024 * 1024;

/**
 * Copies `source` to `destination` leaving runs of zeroes as holes, like `cp --sparse=always`.
 * Only for images the inspector confirmed to be raw. A `pace` holds reads to the configured rate.
 *
 * @example
 * ```ts
 * await sparseCopy("disk.raw", "copy.raw", (done, total) => console.log(done / total));
 * ```
 */
export async function sparseCopy(
  source: string,
  destination: string,
  onProgress?: (bytes: number, total: number) => void,
  signal?: AbortSignal,
  pace?: Pick<RateLimiter, "take">,
): Promise<number> {
  const input = await open(source, "r");
  try {
    const total = (await input.stat()).size;
    const output = await open(destination, "wx");
    try {
      const buffer = Buffer.allocUnsafe(CHUNK);
      let offset = 0;
      while (offset < total) {
        signal?.throwIfAborted();
        const { bytesRead } = await input.read(buffer, 0, Math.min(CHUNK, total - offset), offset);
        if (bytesRead === 0) break;
        await pace?.take(bytesRead, signal);
        const chunk = buffer.subarray(0, bytesRead);
        if (!isZero(chunk)) await writeAll(output, chunk, offset);
        offset += bytesRead;
        onProgress?.(offset, total);
      }
      await output.truncate(total);
      await output.sync();
      return total;
    } finally {
      await output.close();
    }
  } finally {
    await input.close();
  }
}

const ZERO_PAGE = Buffer.alloc(64 * 1024);

function isZero(chunk: Buffer): boolean {
  for (let at = 0; at < chunk.length; at += ZERO_PAGE.length) {
    const end = Math.min(at + ZERO_PAGE.length, chunk.length);
    if (chunk.compare(ZERO_PAGE, 0, end - at, at, end) !== 0) return false;
  }
  return true;
}

async function writeAll(handle: import("node:fs/promises").FileHandle, chunk: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, written, chunk.length - written, position + written);
    written += bytesWritten;
  }
}
