import { matchAscii } from "./bytes.ts";

/**
 * Whether a 512-byte block is a ustar (POSIX or GNU) tar header: the magic at 257 and a
 * checksum at 148 that matches the block's bytes (the field counted as spaces).
 *
 * @example
 * ```ts
 * declare const block: Uint8Array;
 * if (isTarHeader(block)) console.log("a tar archive");
 * ```
 */
export function isTarHeader(block: Uint8Array): boolean {
  // Stryker disable next-line ConditionalExpression: a shorter block sums bytes past its end as NaN, which no checksum equals
  if (block.length < 512 || !matchAscii(block, 257, "ustar")) return false;
  const field = Buffer.from(block.subarray(148, 156))
    .toString("latin1")
    .replace(/^ +|[\0 ]+$/g, "");
  if (!/^[0-7]{1,7}$/.test(field)) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  const stored = parseInt(field, 8);
  return stored === unsigned || stored === signed;
}
