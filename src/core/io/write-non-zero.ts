import type { FileHandle } from "node:fs/promises";

/** Zero detection granularity: an all-zero block of this size is left as a hole. */
export const ZERO_BLOCK_BYTES = 64 * 1024;

const ZERO_BLOCK = Buffer.alloc(ZERO_BLOCK_BYTES);

/**
 * Writes the runs of `data` that are not all zeroes (tested in 64 KiB steps from its start) at
 * `offset + their place`, leaving the all-zero blocks unwritten: holes in a fresh file. The
 * caller sets the file's final length (`truncate`) so trailing zeroes count too.
 *
 * @example
 * ```ts
 * await writeNonZero(handle, chunk, 8 * 1024 * 1024);
 * ```
 */
export async function writeNonZero(output: FileHandle, data: Uint8Array, offset: number): Promise<void> {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let runStart = -1;
  for (let at = 0; at < bytes.length; at += ZERO_BLOCK_BYTES) {
    const end = Math.min(at + ZERO_BLOCK_BYTES, bytes.length);
    const zero = bytes.compare(ZERO_BLOCK, 0, end - at, at, end) === 0;
    if (!zero && runStart < 0) runStart = at;
    if (zero && runStart >= 0) {
      await writeAll(output, bytes.subarray(runStart, at), offset + runStart);
      runStart = -1;
    }
  }
  if (runStart >= 0) await writeAll(output, bytes.subarray(runStart), offset + runStart);
}

async function writeAll(handle: FileHandle, chunk: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, written, chunk.length - written, position + written);
    written += bytesWritten;
  }
}
