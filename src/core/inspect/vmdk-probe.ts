import { matchAscii } from "./bytes.ts";

/** How many leading bytes qemu 7.2 gives its format probes (BLOCK_PROBE_BUF_SIZE). */
export const PROBE_WINDOW = 512;

const HASH = 0x23;
const SPACE = 0x20;
const CR = 0x0d;
const LF = 0x0a;

/** `version=1`..`3` ending in LF or CRLF, wholly inside the window. */
function versionLine(head: Uint8Array, at: number): boolean {
  if (!matchAscii(head, at, "version=")) return false;
  const digit = head[at + 8];
  // Stryker disable next-line ConditionalExpression: a missing digit leaves the line's end missing too, which the check below refuses
  if (digit === undefined || digit < 0x31 || digit > 0x33) return false;
  return head[at + 9] === LF || (head[at + 9] === CR && head[at + 10] === LF);
}

/**
 * True when qemu 7.2's VMDK probe takes these bytes for a text descriptor. Within the first
 * 512 bytes it skips comment lines (`#` up to LF) and lines made only of spaces, each
 * optionally ending in CR before its LF; the first other line must be `version=1`, `2` or `3`
 * followed by LF or CRLF. An empty line, a tab, or spaces before `version=` on its own line
 * make it a raw file to qemu.
 *
 * @example
 * ```ts
 * const bytes = (s: string) => new TextEncoder().encode(s);
 * qemuProbesDescriptor(bytes("  \r\nversion=1\n")); // true
 * qemuProbesDescriptor(bytes("\nversion=1\n"));     // false
 * ```
 */
export function qemuProbesDescriptor(bytes: Uint8Array): boolean {
  const head = bytes.subarray(0, PROBE_WINDOW);
  let at = 0;
  // Stryker disable next-line EqualityOperator: one more pass at the window's end sees no byte, and versionLine refuses that position
  while (at < head.length) {
    if (head[at] === HASH) {
      const newline = head.indexOf(LF, at);
      // Stryker disable next-line EqualityOperator: the search starts at a '#', so an LF is never found at index 0
      if (newline < 0) return false;
      at = newline + 1;
    } else if (head[at] === SPACE) {
      while (head[at] === SPACE) at++;
      if (head[at] === CR) at++;
      if (head[at] !== LF) return false;
      at++;
    } else {
      return versionLine(head, at);
    }
  }
  return false;
}
