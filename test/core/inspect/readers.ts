/** Readers for inspector tests: in-memory sparse images, and wrappers that count or stall reads. */
import { MAX_READ, type ImageReader } from "../../../src/core/io/reader.ts";

/** A region of known bytes in an otherwise zero image. */
export interface Region {
  offset: number;
  bytes: Uint8Array;
}

/**
 * An image of `size` bytes held as a few regions (zeros elsewhere): enough to replay what the
 * inspector reads from a real image, and cheap to mutate.
 */
export function memoryReader(size: number, regions: Region[]): ImageReader {
  return {
    size: async () => size,
    async read(offset, length) {
      if (length > MAX_READ) throw new RangeError(`read of ${length} bytes exceeds ${MAX_READ}`);
      const end = Math.min(size, offset + length);
      const out = new Uint8Array(Math.max(0, end - offset));
      for (const r of regions) {
        const from = Math.max(offset, r.offset);
        const to = Math.min(end, r.offset + r.bytes.length);
        if (from < to) out.set(r.bytes.subarray(from - r.offset, to - r.offset), from - offset);
      }
      return out;
    },
    close: async () => undefined,
  };
}

/** Read statistics gathered by `countingReader`. */
export interface ReadStats {
  calls: number;
  bytes: number;
  largest: number;
  /** Every range asked for, in order. */
  ranges: [offset: number, length: number][];
}

/** Wraps a reader, counting what the inspector asks for. */
export function countingReader(reader: ImageReader): { reader: ImageReader; stats: ReadStats } {
  const stats: ReadStats = { calls: 0, bytes: 0, largest: 0, ranges: [] };
  return {
    stats,
    reader: {
      size: () => reader.size(),
      read(offset, length) {
        stats.calls++;
        stats.bytes += length;
        stats.largest = Math.max(stats.largest, length);
        stats.ranges.push([offset, length]);
        return reader.read(offset, length);
      },
      close: () => reader.close(),
    },
  };
}

/**
 * A download that has delivered only its first `available` bytes and never delivers more: reads
 * inside that prefix answer, reads past it never resolve (and are counted).
 */
export function stalledDownload(
  reader: ImageReader,
  available: number,
  options: { sizeKnown: boolean },
): { reader: ImageReader; stalledReads: () => number } {
  let stalled = 0;
  const never = new Promise<never>(() => undefined);
  return {
    stalledReads: () => stalled,
    reader: {
      size: () => (options.sizeKnown ? reader.size() : never),
      read(offset, length) {
        if (offset + length > available) {
          stalled++;
          return never;
        }
        return reader.read(offset, length);
      },
      close: () => reader.close(),
    },
  };
}

/** Merges overlapping or touching ranges into regions, capturing their bytes from a reader. */
export async function capture(reader: ImageReader, ranges: [number, number][]): Promise<Region[]> {
  const sorted = [...ranges].filter(([, l]) => l > 0).sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [offset, length] of sorted) {
    const last = merged[merged.length - 1];
    if (last && offset <= last[0] + last[1]) last[1] = Math.max(last[1], offset + length - last[0]);
    else merged.push([offset, length]);
  }
  const regions: Region[] = [];
  for (const [offset, length] of merged) {
    const parts: Uint8Array[] = [];
    for (let done = 0; done < length; done += MAX_READ)
      parts.push(await reader.read(offset + done, Math.min(MAX_READ, length - done)));
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.length;
    }
    regions.push({ offset, bytes });
  }
  return regions;
}
