import { BLOCK_SIZE, ContentHasher } from "./construction.ts";

/**
 * What {@link feedRanges} feeds: a {@link ContentHasher}, or the worker-thread version whose
 * `data` resolves when the buffer may be reused.
 *
 * @example
 * ```ts
 * const hasher: BlockHasher = new ContentHasher(65536);
 * ```
 */
export interface BlockHasher {
  readonly size: number;
  readonly blocks: number;
  readonly position: number;
  zeros(count: number): void;
  data(bytes: Buffer): void | Promise<void>;
}
import type { ReadRange } from "./extents.ts";

/** Bytes per read: 64 blocks. */
const CHUNK = 4 * 1024 * 1024;
/** Reads in flight ahead of the hashing (32 MiB: 8 measured 4.7–6.9 s against 6.4–9.3 s for 4 on a cold 2 GiB qcow2). */
const DEPTH = 8;

/**
 * Where the bytes of a disk come from: `read` fills `length` bytes at `offset` into the start
 * of `buffer` (a raw file natively, or qemu-nbd's export).
 *
 * @example
 * ```ts
 * const reader: BlockReader = { read: async (buffer, length, offset) => { buffer.fill(0, 0, length); } };
 * ```
 */
export interface BlockReader {
  read(buffer: Buffer, length: number, offset: number): Promise<void>;
}

/** Options of {@link feedRanges}. */
export interface FeedOptions {
  signal?: AbortSignal;
  /** Called with the disk offset reached and the size. */
  onProgress?: (bytes: number, total: number) => void;
  /** Allocates the read buffers (shared memory for worker threads). */
  allocate?: (length: number) => Buffer;
}

/**
 * Feeds a whole disk into `hasher`: the `ranges` (block-aligned, sorted) read through `reader`,
 * up to eight 4 MiB reads ahead of the hashing, and the blocks between them as known zeroes.
 * Returns the bytes read.
 *
 * @example
 * ```ts
 * declare const reader: BlockReader;
 * const hasher = new ContentHasher(1 << 20);
 * await feedRanges(hasher, [{ start: 0, end: 65536 }], reader);
 * hasher.digest();
 * ```
 */
export async function feedRanges(
  hasher: BlockHasher,
  ranges: readonly ReadRange[],
  reader: BlockReader,
  options: FeedOptions = {},
): Promise<number> {
  const chunks = chunksOf(ranges);
  const allocate = options.allocate ?? ((length: number) => Buffer.allocUnsafe(length));
  const free: Buffer[] = Array.from({ length: DEPTH }, () => allocate(CHUNK));
  const inFlight: Array<Promise<{ buffer: Buffer; offset: number; length: number }>> = [];
  const issue = () => {
    while (free.length > 0) {
      const next = chunks.next();
      if (next.done) return;
      const { offset, length } = next.value;
      const buffer = free.pop() ?? allocate(CHUNK);
      const read = reader.read(buffer, length, offset).then(() => ({ buffer, offset, length }));
      read.catch(() => undefined);
      inFlight.push(read);
    }
  };
  let bytes = 0;
  try {
    issue();
    for (let read = inFlight.shift(); read; read = inFlight.shift()) {
      options.signal?.throwIfAborted();
      const { buffer, offset, length } = await read;
      options.signal?.throwIfAborted();
      hasher.zeros(offset / BLOCK_SIZE - hasher.position);
      await hasher.data(buffer.subarray(0, length));
      bytes += length;
      free.push(buffer);
      issue();
      options.onProgress?.(offset + length, hasher.size);
    }
  } finally {
    await Promise.allSettled(inFlight);
  }
  hasher.zeros(hasher.blocks - hasher.position);
  options.onProgress?.(hasher.size, hasher.size);
  return bytes;
}

function* chunksOf(ranges: readonly ReadRange[]): Generator<{ offset: number; length: number }> {
  for (const { start, end } of ranges) {
    for (let offset = start; offset < end; offset += CHUNK) yield { offset, length: Math.min(CHUNK, end - offset) };
  }
}
