import type { ImageReader } from "../io/reader.ts";
import { MAX_READ } from "../io/reader.ts";

/**
 * Reads at most `length` bytes (capped at the reader's 1 MiB bound) at `offset`. An offset
 * that is negative, not a safe integer, or a non-positive length yields an empty buffer
 * instead of a read, so offsets taken from untrusted headers can be passed straight in.
 *
 * @example
 * ```ts
 * const size = await reader.size();
 * const footer = await readAt(reader, size - 512, 512);
 * const truncated = footer.length < 512; // the image ends before a whole footer
 * ```
 */
export async function readAt(reader: ImageReader, offset: number, length: number): Promise<Uint8Array> {
  if (!Number.isSafeInteger(offset) || offset < 0 || !(length > 0)) return new Uint8Array(0);
  return reader.read(offset, Math.min(Math.floor(length), MAX_READ));
}

/**
 * Reads a range that may exceed one read, calling `onChunk` per piece so callers can fold
 * (CRC, scan) without holding the range in memory. Stops early at the end of the image.
 *
 * @example
 * ```ts
 * let crc = 0;
 * declare const entriesOffset: number, entriesBytes: number;
 * await readChunks(reader, entriesOffset, entriesBytes, 65536, (chunk) => { crc = crc32(chunk, crc); });
 * ```
 */
export async function readChunks(
  reader: ImageReader,
  offset: number,
  length: number,
  chunkSize: number,
  onChunk: (chunk: Uint8Array, position: number) => void,
): Promise<number> {
  let done = 0;
  // Stryker disable next-line EqualityOperator: at done === length the next read asks for 0 bytes, which readAt answers with an empty buffer without reading, so the loop ends the same
  while (done < length) {
    const chunk = await readAt(reader, offset + done, Math.min(chunkSize, length - done));
    if (chunk.length === 0) break;
    onChunk(chunk, done);
    done += chunk.length;
  }
  return done;
}
