/** Table-driven reflected CRC-32 variants used by on-disk formats. */

function makeTable(polynomial: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ polynomial : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

const ieeeTable = makeTable(0xedb88320);
const castagnoliTable = makeTable(0x82f63b78);

function update(table: Uint32Array, crc: number, bytes: Uint8Array): number {
  let c = crc;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return c;
}

/**
 * CRC-32 (IEEE 802.3, as used by GPT headers and partition arrays). Pass the previous result
 * as `seed` to continue over several chunks.
 *
 * @example
 * ```ts
 * crc32(new TextEncoder().encode("123456789")); // 0xcbf43926
 * ```
 */
export function crc32(bytes: Uint8Array, seed = 0): number {
  return (update(ieeeTable, ~seed >>> 0, bytes) ^ 0xffffffff) >>> 0;
}

/**
 * CRC-32C (Castagnoli, as used by VHDX headers and region tables).
 *
 * @example
 * ```ts
 * crc32c(new TextEncoder().encode("123456789")); // 0xe3069283
 * ```
 */
export function crc32c(bytes: Uint8Array, seed = 0): number {
  return (update(castagnoliTable, ~seed >>> 0, bytes) ^ 0xffffffff) >>> 0;
}
