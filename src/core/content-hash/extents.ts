import type { QemuExtent } from "../qemu-img-output.ts";
import { BLOCK_SIZE } from "./construction.ts";

/**
 * A byte range of the disk to read; everything outside the ranges is known to be zero.
 *
 * @example
 * ```ts
 * const range: ReadRange = { start: 0, end: 65536 };
 * ```
 */
export interface ReadRange {
  start: number;
  /** Exclusive. */
  end: number;
}

/**
 * The ranges of a disk of `size` bytes that must be read, from `qemu-img map`'s extents: every
 * extent that holds data and is not known to be zero, and anything map did not cover, widened
 * to whole 64 KiB blocks (the part of a block that is a hole reads as zeroes), merged, in
 * order. A block is skipped only when holes and zero extents cover all of it.
 *
 * @example
 * ```ts
 * readRanges([{ start: 0, length: 4096, data: true, zero: false }, { start: 4096, length: 1 << 20, data: false, zero: true }], 1 << 20 | 4096);
 * // [{ start: 0, end: 65536 }]
 * ```
 */
export function readRanges(extents: readonly QemuExtent[], size: number): ReadRange[] {
  const ranges: ReadRange[] = [];
  const add = (start: number, end: number) => {
    const from = Math.floor(start / BLOCK_SIZE) * BLOCK_SIZE;
    const to = Math.min(size, Math.ceil(end / BLOCK_SIZE) * BLOCK_SIZE);
    if (to <= from) return;
    const last = ranges.at(-1);
    if (last && from <= last.end) last.end = Math.max(last.end, to);
    else ranges.push({ start: from, end: to });
  };
  let cursor = 0;
  for (const extent of [...extents].sort((a, b) => a.start - b.start)) {
    if (extent.start > cursor) add(cursor, extent.start);
    if (extent.data && !extent.zero) add(extent.start, extent.start + extent.length);
    cursor = Math.max(cursor, extent.start + extent.length);
  }
  if (cursor < size) add(cursor, size);
  return ranges;
}
