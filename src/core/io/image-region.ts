import type { ImageReader } from "./reader.ts";

/**
 * An image that is a byte range of a larger file: a member of an archive read where it lies
 * (an OVA's disk), rather than copied out. qemu-img reads it through its raw driver's
 * `offset` and `size`; the native inspector through {@link regionReader}.
 *
 * @example
 * ```ts
 * const region: ImageRegion = { offset: 3072, length: 355_620_864 }; // vm-disk1.vmdk inside vm.ova
 * ```
 */
export interface ImageRegion {
  /** Where the image starts in the file, in bytes. */
  offset: number;
  /** The image's length in bytes. */
  length: number;
}

/**
 * `inner` (the whole file) seen as the image `region` holds: offsets start at the region's
 * start, and reads and the size stop at its end. A file shorter than the region's end is an
 * image that ends early (reads come back short), as a truncated file would.
 *
 * @example
 * ```ts
 * import { openFileReader } from "./reader.ts";
 * const disk = regionReader(await openFileReader("vm.ova"), { offset: 3072, length: 1 << 20 });
 * const head = await disk.read(0, 512); // the member's first sector
 * ```
 */
export function regionReader(inner: ImageReader, region: ImageRegion): ImageReader {
  if (!isByteRange(region))
    throw new RangeError(`not a byte range of a file: offset ${region.offset}, length ${region.length}`);
  return {
    size: async () => Math.min(region.length, Math.max(0, (await inner.size()) - region.offset)),
    read: async (offset, length) => {
      const within = Math.min(length, region.length - offset);
      if (!Number.isSafeInteger(offset) || offset < 0 || !(within > 0)) return new Uint8Array(0);
      return inner.read(region.offset + offset, within);
    },
    close: () => inner.close(),
  };
}

/**
 * Whether `region` names a byte range of a file at all: a whole, non-negative offset and length
 * (a plugin's or a header's numbers are checked with it before anything is read).
 *
 * @example
 * ```ts
 * isByteRange({ offset: 512, length: 0 }); // true
 * isByteRange({ offset: -8, length: 1024 }); // false
 * ```
 */
export function isByteRange(region: ImageRegion): boolean {
  const { offset, length } = region;
  return Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0;
}
