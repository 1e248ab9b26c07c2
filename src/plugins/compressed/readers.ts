import type { ImageReader } from "../../plugin-api.ts";

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
