import { open, type FileHandle } from "node:fs/promises";
import type { RateLimiter } from "./throttle.ts";
import { writeNonZero } from "./write-non-zero.ts";

/** Bytes per read. Large reads keep syscalls and promise turns few (4 GiB is 1024 reads). */
const CHUNK = 4 * 1024 * 1024;
/** Reads in flight ahead of the writer: the next chunks arrive while one is being written. */
const DEPTH = 3;

/**
 * A byte range of the source that may hold data; everything outside the ranges given to
 * {@link sparseCopy} is a hole.
 *
 * @example
 * ```ts
 * const range: ByteRange = { start: 0, length: 8 * 1024 * 1024 };
 * ```
 */
export interface ByteRange {
  start: number;
  length: number;
}

/**
 * Copies `source` to `destination` leaving runs of zeroes as holes, like `cp --sparse=always`
 * (holes at 64 KiB granularity). Only for images the inspector confirmed to be raw. Reads run
 * up to three 4 MiB chunks ahead of the writer, so the disk reads while the page cache takes
 * the writes. A `pace` holds reads to the configured rate. `ranges` (sorted, from `qemu-img
 * map`) limits the reads to the extents that hold data: reading a hole still fills the page
 * cache with zeroes, and for a half-empty 4 GiB image skipping them took the copy from 5.3 s
 * to 1.8 s (bench, case 5).
 *
 * @example
 * ```ts
 * await sparseCopy("disk.raw", "copy.raw", (done, total) => console.log(done / total));
 * ```
 */
export async function sparseCopy(
  source: string,
  destination: string,
  onProgress?: (bytes: number, total: number) => void,
  signal?: AbortSignal,
  pace?: Pick<RateLimiter, "take">,
  ranges?: readonly ByteRange[],
  onData?: (offset: number, data: Buffer) => void,
): Promise<number> {
  const input = await open(source, "r");
  try {
    const total = (await input.stat()).size;
    const output = await open(destination, "wx");
    try {
      await copyRanges(input, output, total, {
        ...(onProgress && { onProgress }),
        ...(signal && { signal }),
        ...(pace && { pace }),
        ...(ranges && { ranges }),
        ...(onData && { onData }),
      });
      return total;
    } finally {
      await output.close();
    }
  } finally {
    await input.close();
  }
}

/**
 * Options of {@link copyRanges}.
 *
 * @example
 * ```ts
 * const options: CopyOptions = { ranges: [{ start: 0, length: 1 << 20 }], onProgress: (done, total) => {} };
 * ```
 */
export interface CopyOptions {
  onProgress?: (bytes: number, total: number) => void;
  signal?: AbortSignal;
  pace?: Pick<RateLimiter, "take">;
  /** The extents that may hold data (default: all of `total`). */
  ranges?: readonly ByteRange[];
  /** Sees every chunk read, in file order, before it is written (the content hash taps it here). */
  onData?: (offset: number, data: Buffer) => void;
}

/**
 * The copy engine on open files: the first `total` bytes of `input` into `output` (which it
 * leaves exactly `total` bytes long, zero runs as holes, synced). Neither file is closed.
 *
 * @example
 * ```ts
 * declare const inputHandle: FileHandle, outputHandle: FileHandle, size: number, signal: AbortSignal;
 * await copyRanges(inputHandle, outputHandle, size, { signal });
 * ```
 */
export async function copyRanges(
  input: FileHandle,
  output: FileHandle,
  total: number,
  options: CopyOptions = {},
): Promise<void> {
  const { onProgress, signal, pace } = options;
  const ahead = new ReadAhead(input, clip(options.ranges ?? [{ start: 0, length: total }], total));
  try {
    for (let next = ahead.next(); next; next = ahead.next()) {
      signal?.throwIfAborted();
      const chunk = await next;
      signal?.throwIfAborted();
      await pace?.take(chunk.data.length, signal);
      options.onData?.(chunk.offset, chunk.data);
      await writeNonZero(output, chunk.data, chunk.offset);
      ahead.release(chunk.buffer);
      onProgress?.(chunk.offset + chunk.data.length, total);
    }
  } finally {
    await ahead.settle();
  }
  await output.truncate(total);
  await output.sync();
}

/** One chunk read: its bytes (a view of `buffer`) and where they came from. */
interface Chunk {
  buffer: Buffer;
  data: Buffer;
  offset: number;
}

/** The ranges within [0, total), in order, without empty ones. */
function clip(ranges: readonly ByteRange[], total: number): ByteRange[] {
  return ranges
    .map(({ start, length }) => ({ start, length: Math.min(length, total - start) }))
    .filter(({ start, length }) => start >= 0 && length > 0)
    .sort((a, b) => a.start - b.start);
}

/** Sequential reads of the ranges of a file, up to DEPTH chunks ahead, each into a buffer of its own. */
class ReadAhead {
  readonly #input: FileHandle;
  readonly #ranges: ByteRange[];
  readonly #free: Buffer[] = Array.from({ length: DEPTH }, () => Buffer.allocUnsafe(CHUNK));
  readonly #pending: Array<Promise<Chunk>> = [];
  /** The range being read and how far into it the reads have been issued. */
  #range = 0;
  #issued = 0;

  constructor(input: FileHandle, ranges: ByteRange[]) {
    this.#input = input;
    this.#ranges = ranges;
    this.#fill();
  }

  /** The next chunk in file order, or undefined at the end. */
  next(): Promise<Chunk> | undefined {
    return this.#pending.shift();
  }

  /** Gives a chunk's buffer back for the next read. */
  release(buffer: Buffer): void {
    this.#free.push(buffer);
    this.#fill();
  }

  /** Waits for reads still in flight (after an error, before the file is closed). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.#pending);
  }

  #fill(): void {
    while (this.#range < this.#ranges.length) {
      const buffer = this.#free.pop();
      if (!buffer) return;
      const range = this.#ranges[this.#range];
      const offset = range.start + this.#issued;
      const length = Math.min(CHUNK, range.length - this.#issued);
      this.#issued += length;
      if (this.#issued >= range.length) {
        this.#range++;
        this.#issued = 0;
      }
      const read = readFull(this.#input, buffer, length, offset).then((bytes) => ({
        buffer,
        data: buffer.subarray(0, bytes),
        offset,
      }));
      read.catch(() => undefined);
      this.#pending.push(read);
    }
  }
}

/** Reads `length` bytes at `offset` (fewer only at the end of the file). */
async function readFull(handle: FileHandle, buffer: Buffer, length: number, offset: number): Promise<number> {
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}
