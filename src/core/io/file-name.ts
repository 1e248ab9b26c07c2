/** The longest file name (one path component) Linux file systems take, in bytes. */
export const NAME_MAX = 255;

/**
 * The longest start of `text` that fits in `maxBytes` of UTF-8, cut between code points (never
 * inside a character, so the name written is the name shown).
 *
 * @example
 * ```ts
 * truncateUtf8("äbc", 2); // "ä"
 * ```
 */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char);
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += char.length;
  }
  return text.slice(0, end);
}

/**
 * `base + suffix` cut to fit one file name of `max` bytes: the suffix is kept whole and `base`
 * is shortened from its end. Throws when even the suffix alone does not fit.
 *
 * @example
 * ```ts
 * fitName("x".repeat(300), ".qcow2").length; // 255
 * ```
 */
export function fitName(base: string, suffix = "", max = NAME_MAX): string {
  const room = max - Buffer.byteLength(suffix);
  if (room < 1)
    throw new RangeError(`a file name suffix of ${Buffer.byteLength(suffix)} bytes leaves no room for a name`);
  return truncateUtf8(base, room) + suffix;
}
