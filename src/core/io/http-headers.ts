/**
 * `Content-Range: bytes START-END/TOTAL` (TOTAL may be `*`).
 *
 * @example
 * ```ts
 * parseContentRange("bytes 100-199/1000"); // { start: 100, end: 199, total: 1000 }
 * ```
 */
export function parseContentRange(
  header: string | undefined,
): { start: number; end: number; total?: number } | undefined {
  // Stryker disable next-line StringLiteral: any text in place of a missing header fails the match the same way
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header?.trim() ?? "");
  if (!match) return undefined;
  return { start: Number(match[1]), end: Number(match[2]), ...(match[3] !== "*" && { total: Number(match[3]) }) };
}

/**
 * A `Content-Length` of digits only, as a number; anything else is no length.
 *
 * @example
 * ```ts
 * contentLength("1048576"); // 1048576
 * contentLength("1e6"); // undefined
 * ```
 */
export function contentLength(header: string | undefined): number | undefined {
  return header !== undefined && /^\d+$/.test(header) ? Number(header) : undefined;
}

/**
 * An ETag usable to check that a resumed download continues the same file: strong ones only.
 *
 * @example
 * ```ts
 * strongValidator('"abc"'); // '"abc"'
 * strongValidator('W/"abc"'); // undefined
 * ```
 */
export function strongValidator(etag: string | undefined): string | undefined {
  return etag && !etag.startsWith("W/") ? etag : undefined;
}
