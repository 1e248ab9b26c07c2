import type { FileHandle } from "node:fs/promises";

/** Zero detection granularity of the copy engine and downloads: an all-zero block of this size is left as a hole. */
export const ZERO_BLOCK_BYTES = 64 * 1024;

const ZEROES = Buffer.alloc(ZERO_BLOCK_BYTES);

/**
 * Writes `data` at `position`, leaving unwritten its all-zero blocks: holes in a fresh file.
 * Blocks are `block` bytes (a power of two up to 64 KiB) aligned to the file position, so a
 * hole always covers whole file system blocks. The caller sets the file's final length
 * (`truncate`) so trailing zeroes count too. Returns the bytes written as data (the rest are holes).
 *
 * @example
 * ```ts
 * declare const handle: FileHandle, chunk: Uint8Array, sector: Uint8Array;
 * await writeNonZero(handle, chunk, 8 * 1024 * 1024);
 * await writeNonZero(handle, sector, 512, 4096);
 * ```
 */
export async function writeNonZero(
  output: FileHandle,
  data: Uint8Array,
  position: number,
  block = ZERO_BLOCK_BYTES,
): Promise<number> {
  if (!(block > 0 && block <= ZERO_BLOCK_BYTES && (block & (block - 1)) === 0))
    throw new RangeError(`block of ${block} bytes is not a power of two up to 64 KiB`);
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let runStart = -1;
  let cursor = 0;
  let stored = 0;
  while (cursor < bytes.length) {
    const end = Math.min(bytes.length, cursor + block - ((position + cursor) % block));
    const zero = bytes.compare(ZEROES, 0, end - cursor, cursor, end) === 0;
    if (!zero && runStart < 0) runStart = cursor;
    if (zero && runStart >= 0) {
      await writeAll(output, bytes.subarray(runStart, cursor), position + runStart);
      stored += cursor - runStart;
      runStart = -1;
    }
    cursor = end;
  }
  if (runStart >= 0) {
    await writeAll(output, bytes.subarray(runStart), position + runStart);
    stored += bytes.length - runStart;
  }
  return stored;
}

async function writeAll(handle: FileHandle, chunk: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, written, chunk.length - written, position + written);
    written += bytesWritten;
  }
}
