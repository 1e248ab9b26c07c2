/**
 * Bounds-checked integer and text readers over a Uint8Array. Every reader returns 0 (or "")
 * when the field lies outside the buffer, so a short read never throws; callers check the
 * buffer's length where a missing field matters.
 */

function has(bytes: Uint8Array, offset: number, width: number): boolean {
  return Number.isSafeInteger(offset) && offset >= 0 && offset + width <= bytes.length;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Unsigned 8-bit value.
 *
 * @example
 * ```ts
 * u8(new Uint8Array([7]), 0); // 7
 * ```
 */
export function u8(bytes: Uint8Array, offset: number): number {
  return has(bytes, offset, 1) ? bytes[offset]! : 0;
}

/**
 * Unsigned 16-bit little-endian value.
 *
 * @example
 * ```ts
 * u16le(new Uint8Array([1, 2]), 0); // 0x0201
 * ```
 */
export function u16le(bytes: Uint8Array, offset: number): number {
  return has(bytes, offset, 2) ? view(bytes).getUint16(offset, true) : 0;
}

/**
 * Unsigned 16-bit big-endian value.
 *
 * @example
 * ```ts
 * u16be(new Uint8Array([1, 2]), 0); // 0x0102
 * ```
 */
export function u16be(bytes: Uint8Array, offset: number): number {
  return has(bytes, offset, 2) ? view(bytes).getUint16(offset, false) : 0;
}

/**
 * Unsigned 32-bit little-endian value.
 *
 * @example
 * ```ts
 * u32le(new Uint8Array([0x7f, 0x10, 0xda, 0xbe]), 0); // 0xbeda107f
 * ```
 */
export function u32le(bytes: Uint8Array, offset: number): number {
  return has(bytes, offset, 4) ? view(bytes).getUint32(offset, true) : 0;
}

/**
 * Unsigned 32-bit big-endian value.
 *
 * @example
 * ```ts
 * u32be(new Uint8Array([0, 0, 0, 3]), 0); // 3
 * ```
 */
export function u32be(bytes: Uint8Array, offset: number): number {
  return has(bytes, offset, 4) ? view(bytes).getUint32(offset, false) : 0;
}

/**
 * Unsigned 64-bit little-endian value as a bigint (exact).
 *
 * @example
 * ```ts
 * u64leBig(new Uint8Array(8).fill(0xff), 0); // 0xffffffffffffffffn
 * ```
 */
export function u64leBig(bytes: Uint8Array, offset: number): bigint {
  return has(bytes, offset, 8) ? view(bytes).getBigUint64(offset, true) : 0n;
}

/**
 * Unsigned 64-bit big-endian value as a bigint (exact).
 *
 * @example
 * ```ts
 * u64beBig(new Uint8Array([0, 0, 0, 0, 0, 0, 1, 0]), 0); // 256n
 * ```
 */
export function u64beBig(bytes: Uint8Array, offset: number): bigint {
  return has(bytes, offset, 8) ? view(bytes).getBigUint64(offset, false) : 0n;
}

/**
 * Unsigned 64-bit little-endian value as a number; values above 2^53 lose precision, so
 * callers treat anything above `Number.MAX_SAFE_INTEGER` as absurd.
 *
 * @example
 * ```ts
 * u64le(new Uint8Array([0, 2, 0, 0, 0, 0, 0, 0]), 0); // 512
 * ```
 */
export function u64le(bytes: Uint8Array, offset: number): number {
  return Number(u64leBig(bytes, offset));
}

/**
 * Unsigned 64-bit big-endian value as a number (see `u64le` on precision).
 *
 * @example
 * ```ts
 * u64be(new Uint8Array([0, 0, 0, 0, 0, 0, 2, 0]), 0); // 512
 * ```
 */
export function u64be(bytes: Uint8Array, offset: number): number {
  return Number(u64beBig(bytes, offset));
}

/**
 * True when the bytes at `offset` spell `text` (Latin-1, one byte per character).
 *
 * @example
 * ```ts
 * matchAscii(new TextEncoder().encode("QFI\xfb"), 0, "QFI"); // true
 * ```
 */
export function matchAscii(bytes: Uint8Array, offset: number, text: string): boolean {
  if (!has(bytes, offset, text.length)) return false;
  for (let i = 0; i < text.length; i++) {
    if (bytes[offset + i] !== text.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Text of a fixed-size field up to its first NUL, with anything outside printable ASCII
 * replaced by "?", so untrusted names are safe to put in messages and reports.
 *
 * @example
 * ```ts
 * asciiField(new TextEncoder().encode("aes\0\0"), 0, 5); // "aes"
 * ```
 */
export function asciiField(bytes: Uint8Array, offset: number, length: number): string {
  const end = Math.min(bytes.length, offset + length);
  let out = "";
  for (let i = Math.max(0, offset); i < end; i++) {
    const c = bytes[i]!;
    if (c === 0) break;
    out += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : "?";
  }
  return out;
}

/**
 * True when every byte in the range is zero (a missing range counts as zero).
 *
 * @example
 * ```ts
 * isZero(new Uint8Array(16), 0, 16); // true
 * ```
 */
export function isZero(bytes: Uint8Array, offset: number, length: number): boolean {
  const end = Math.min(bytes.length, offset + length);
  for (let i = Math.max(0, offset); i < end; i++) if (bytes[i] !== 0) return false;
  return true;
}

/**
 * Makes an untrusted string safe for a one-line message: control characters become "?", and
 * the result is cut to `max` characters.
 *
 * @example
 * ```ts
 * printable("a\nb", 10); // "a?b"
 * ```
 */
export function printable(text: string, max = 80): string {
  const clean = text.replace(/[^\x20-\x7e]/g, "?");
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/**
 * Lower-case hex of a byte range (for UUIDs in reports).
 *
 * @example
 * ```ts
 * hex(new Uint8Array([0xde, 0xad]), 0, 2); // "dead"
 * ```
 */
export function hex(bytes: Uint8Array, offset: number, length: number): string {
  let out = "";
  const end = Math.min(bytes.length, offset + length);
  for (let i = Math.max(0, offset); i < end; i++) out += bytes[i]!.toString(16).padStart(2, "0");
  return out;
}
