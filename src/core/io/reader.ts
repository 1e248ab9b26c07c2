import { close, constants, fstat, open, read, type Stats } from "node:fs";
import { fileKind, NotRegularError } from "./open-regular.ts";

/**
 * Random access to the bytes of an image, for the native inspector. A file
 * answers at once; a download answers as soon as the bytes it asks for have
 * arrived (see `src/core/io/`'s growing-file reader).
 *
 * @example
 * ```ts
 * const reader = await openFileReader("disk.qcow2");
 * const head = await reader.read(0, 512);
 * await reader.close();
 * ```
 */
export interface ImageReader {
  /** The image's total size in bytes. A stream resolves this only when it has ended. */
  size(): Promise<number>;
  /**
   * Reads up to `length` bytes at `offset`. The result is shorter only at the end of the
   * image. Callers keep `length` small (at most 1 MiB): the inspector's memory bound rests on it.
   */
  read(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** The largest single read the inspector may ask for. */
export const MAX_READ = 1024 * 1024;

/**
 * Opens a local file (or block device) as an ImageReader; anything else (a FIFO, a character
 * device, a directory) is refused at once with a {@link NotRegularError}. It uses node:fs's callback calls:
 * for the inspector's small reads they cost a fifth of what FileHandle's promises do (200
 * images, 13 reads each: 10 ms against 35–90 ms), and the inspector is all small reads.
 *
 * @example
 * ```ts
 * const reader = await openFileReader("/dev/sdb");
 * console.log(await reader.size());
 * ```
 */
export async function openFileReader(path: string): Promise<ImageReader> {
  // Non-blocking, so a FIFO is opened (and refused) at once instead of waiting for a writer.
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;
  const fd = await new Promise<number>((resolve, reject) =>
    open(path, flags, (error, opened) => (error ? reject(error) : resolve(opened))),
  );
  const stats = await new Promise<Stats>((resolve, reject) =>
    fstat(fd, (error, found) => (error ? reject(error) : resolve(found))),
  ).catch((error: unknown) => {
    close(fd, () => undefined);
    throw error;
  });
  if (!stats.isFile() && !stats.isBlockDevice()) {
    close(fd, () => undefined);
    throw new NotRegularError(path, fileKind(stats));
  }
  let cachedSize: number | undefined;
  let closing: Promise<void> | undefined;
  return {
    async size() {
      cachedSize ??= stats.isBlockDevice() ? await blockDeviceSize(fd) : stats.size;
      return cachedSize;
    },
    async read(offset, length) {
      if (length > MAX_READ) throw new RangeError(`read of ${length} bytes exceeds the ${MAX_READ}-byte bound`);
      const buffer = new Uint8Array(Math.max(0, length));
      if (length <= 0 || offset < 0 || !Number.isSafeInteger(offset)) return buffer.subarray(0, 0);
      let filled = 0;
      while (filled < length) {
        const bytesRead = await readAt(fd, buffer, filled, length - filled, offset + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return buffer.subarray(0, filled);
    },
    // Once only: a descriptor number closed twice could belong to another file by then.
    close: () =>
      (closing ??= new Promise<void>((resolve, reject) => close(fd, (error) => (error ? reject(error) : resolve())))),
  };
}

function readAt(fd: number, buffer: Uint8Array, at: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) =>
    read(fd, buffer, at, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead))),
  );
}

async function blockDeviceSize(fd: number): Promise<number> {
  // stat() reports 0 for block devices; reading the end position by a probe keeps this portable.
  let low = 0;
  let high = 2 ** 52;
  const probe = new Uint8Array(1);
  while (low < high) {
    const mid = Math.floor((low + high + 1) / 2);
    const bytesRead = await readAt(fd, probe, 0, 1, mid - 1);
    if (bytesRead === 1) low = mid;
    else high = mid - 1;
  }
  return low;
}
