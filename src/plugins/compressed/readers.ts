import type { open } from "node:fs/promises";
import type { ImageReader } from "../../plugin-api.ts";

/**
 * An ImageReader over an open file (the caller closes the handle).
 *
 * @example
 * ```ts
 * import { open } from "node:fs/promises";
 * const handle = await open("disk.qcow2.zst", "r");
 * const head = await handleReader(handle).read(0, 4096);
 * await handle.close();
 * ```
 */
export function handleReader(handle: Awaited<ReturnType<typeof open>>): ImageReader {
  return {
    size: async () => (await handle.stat()).size,
    read: async (offset, length) => {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, offset);
      return buffer.subarray(0, bytesRead);
    },
    close: async () => undefined,
  };
}

/**
 * An ImageReader over bytes in memory.
 *
 * @example
 * ```ts
 * const reader = memoryReader(new Uint8Array(512));
 * await reader.size(); // 512
 * ```
 */
export function memoryReader(bytes: Uint8Array): ImageReader {
  return {
    size: async () => bytes.length,
    read: async (offset, length) => bytes.subarray(offset, offset + length),
    close: async () => undefined,
  };
}
