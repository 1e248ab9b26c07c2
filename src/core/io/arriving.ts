import type { GrowingFile } from "./growing-file.ts";

/**
 * A growing file's bytes from the first, as they arrive: each chunk is what is in (up to
 * `chunk` bytes) as soon as there is any, so a reader is never held for bytes still on the
 * way. The iteration ends with the file and fails with its failure.
 *
 * @example
 * ```ts
 * declare const file: GrowingFile;
 * for await (const bytes of arrivingChunks(file)) console.log(bytes.length);
 * ```
 */
export async function* arrivingChunks(file: GrowingFile, chunk = 1 << 20): AsyncGenerator<Uint8Array> {
  const reader = file.reader();
  for (let offset = 0; ;) {
    // Waits for one byte past the offset, or the end.
    if ((await reader.read(offset, 1)).length === 0) return;
    const bytes = await reader.read(offset, Math.min(chunk, Math.max(1, file.written - offset)));
    offset += bytes.length;
    yield bytes;
  }
}
