import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { basename } from "node:path";
import { ChainRejection } from "./rejection.ts";
import {
  DYNAMIC_HEADER_SIZE,
  FOOTER_SIZE,
  MAX_VHD_SIZE,
  MIN_BLOCK_SIZE,
  parseDynamicHeader,
  parseFooter,
  type VhdDiskType,
} from "./vhd-headers.ts";

const SECTOR = 512;
const UNALLOCATED = 0xffff_ffff;
const MAX_TABLE_ENTRIES = MAX_VHD_SIZE / MIN_BLOCK_SIZE;

/**
 * What the reader learned about one VHD file.
 *
 * @example
 * ```ts
 * const { type, size, uniqueId, parentId } = (await VhdFile.open("0.vhd")).info;
 * ```
 */
export interface VhdInfo {
  /** The name used in messages, e.g. `1.vhd`. */
  label: string;
  type: VhdDiskType;
  /** Virtual size in bytes. */
  size: number;
  uniqueId: string;
  /** Differencing disks only: the parent's unique id and recorded name. */
  parentId?: string;
  parentName?: string;
  /** Dynamic and differencing disks only. */
  blockSize?: number;
  creatorApp: string;
}

/**
 * Where the sectors of a range are stored in one VHD file: `present` is "all", or one byte per
 * sector of the range (1 = stored in this file, 0 = not: zero for a dynamic disk, the parent's for
 * a differencing one).
 */
export interface StoredRange {
  /** Offset in the file of the data of the range's first sector. */
  fileOffset: number;
  present: "all" | Uint8Array;
}

/**
 * A read-only VHD (fixed, dynamic or differencing), validated when opened: footer and its copy,
 * dynamic header, block table, and every allocated block lying inside the file. Reads are bounded:
 * nothing is allocated from a size in the file beyond the block table (at most 16 MiB) and one
 * block bitmap (at most 64 KiB).
 *
 * @example
 * ```ts
 * const vhd = await VhdFile.open("work/0.vhd");
 * console.log(vhd.info.type, vhd.info.size, vhd.info.parentId);
 * const range = await vhd.locate(0, 65536);
 * if (range?.present === "all") await vhd.read(range.fileOffset, new Uint8Array(65536));
 * await vhd.close();
 * ```
 */
export class VhdFile {
  readonly info: VhdInfo;
  readonly #handle: FileHandle;
  readonly #table: Uint32Array | undefined;
  readonly #bitmapBytes: number;
  #cachedBlock = -1;
  #cachedBitmap: Uint8Array = new Uint8Array(0);

  private constructor(info: VhdInfo, handle: FileHandle, table: Uint32Array | undefined) {
    this.info = info;
    this.#handle = handle;
    this.#table = table;
    const sectorsPerBlock = (info.blockSize ?? 0) / SECTOR;
    this.#bitmapBytes = Math.ceil(sectorsPerBlock / 8 / SECTOR) * SECTOR;
  }

  /**
   * Opens and validates a VHD. Throws a `ChainRejection` (vhd-corrupt-header, vhd-checksum or
   * truncated) naming `label` when the file is not a sound VHD.
   *
   * @example
   * ```ts
   * const base = await VhdFile.open("/tmp/job/2.vhd", "2.vhd");
   * ```
   */
  static async open(path: string, label = basename(path)): Promise<VhdFile> {
    const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const { info, table } = await validate(handle, label);
      return new VhdFile(info, handle, table);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /**
   * Tells where the sectors of `[offset, offset + length)` are stored in this file, or null when
   * none is. The range must be sector-aligned and lie within one block (and within the disk).
   *
   * @example
   * ```ts
   * const vhd = await VhdFile.open("work/0.vhd");
   * const range = await vhd.locate(2 * 1024 * 1024, 4096);
   * ```
   */
  async locate(offset: number, length: number): Promise<StoredRange | null> {
    const { size, blockSize } = this.info;
    if (offset % SECTOR !== 0 || length % SECTOR !== 0 || length <= 0 || offset + length > size) {
      throw new RangeError(`${this.info.label}: range ${offset}+${length} is not sector-aligned inside the disk`);
    }
    if (!this.#table || !blockSize) return { fileOffset: offset, present: "all" };
    const block = Math.floor(offset / blockSize);
    const inBlock = offset - block * blockSize;
    if (inBlock + length > blockSize)
      throw new RangeError(`${this.info.label}: range ${offset}+${length} spans two blocks`);
    const entry = this.#table[block];
    if (entry === UNALLOCATED) return null;
    const bitmap = await this.#bitmap(block, entry);
    const first = inBlock / SECTOR;
    const count = length / SECTOR;
    const present = new Uint8Array(count);
    let stored = 0;
    for (let i = 0; i < count; i++) {
      const sector = first + i;
      if (bitmap[sector >> 3] & (0x80 >> (sector & 7))) {
        present[i] = 1;
        stored++;
      }
    }
    if (stored === 0) return null;
    const fileOffset = entry * SECTOR + this.#bitmapBytes + inBlock;
    return { fileOffset, present: stored === count ? "all" : present };
  }

  /**
   * Fills `target` with the file's bytes at `fileOffset` (an offset from {@link locate}).
   *
   * @example
   * ```ts
   * declare const vhd: VhdFile, range: StoredRange, buffer: Uint8Array;
   * await vhd.read(range.fileOffset, buffer.subarray(0, 4096));
   * ```
   */
  async read(fileOffset: number, target: Uint8Array): Promise<void> {
    await readExactly(this.#handle, fileOffset, target, this.info.label);
  }

  /**
   * Closes the file.
   *
   * @example
   * ```ts
   * declare const vhd: VhdFile;
   * await vhd.close();
   * ```
   */
  async close(): Promise<void> {
    await this.#handle.close();
  }

  async #bitmap(block: number, entry: number): Promise<Uint8Array> {
    if (this.#cachedBlock !== block) {
      const bitmap = new Uint8Array(this.#bitmapBytes);
      await readExactly(this.#handle, entry * SECTOR, bitmap, this.info.label);
      this.#cachedBitmap = bitmap;
      this.#cachedBlock = block;
    }
    return this.#cachedBitmap;
  }
}

async function validate(handle: FileHandle, label: string): Promise<{ info: VhdInfo; table?: Uint32Array }> {
  const fileSize = (await handle.stat()).size;
  if (fileSize < FOOTER_SIZE)
    throw new ChainRejection("truncated", `${label}: ${fileSize} bytes is too short for a VHD`);
  const trailer = new Uint8Array(FOOTER_SIZE);
  await readExactly(handle, fileSize - FOOTER_SIZE, trailer, label);
  const footer = await parseTrailer(handle, trailer, label);
  const dataEnd = fileSize - FOOTER_SIZE;
  const info: VhdInfo = {
    label,
    type: footer.diskType,
    size: footer.currentSize,
    uniqueId: footer.uniqueId,
    creatorApp: footer.creatorApp,
  };

  if (footer.diskType === "fixed") {
    if (footer.currentSize > dataEnd) {
      throw new ChainRejection(
        "truncated",
        `${label}: fixed disk of ${footer.currentSize} bytes in a ${fileSize}-byte file`,
      );
    }
    return { info };
  }

  const copy = new Uint8Array(FOOTER_SIZE);
  await readExactly(handle, 0, copy, label);
  if (!Buffer.from(copy).equals(trailer)) {
    throw new ChainRejection(
      "vhd-corrupt-header",
      `${label}: the footer copy at offset 0 differs from the footer at the end`,
    );
  }
  const headerOffset = footer.dataOffset;
  // parseFooter sets the offset for every disk that is not fixed.
  if (headerOffset === undefined)
    throw new ChainRejection(
      "vhd-corrupt-header",
      `${label}: a ${footer.diskType} disk without a dynamic header offset`,
    );
  if (headerOffset + DYNAMIC_HEADER_SIZE > dataEnd)
    throw new ChainRejection("truncated", `${label}: dynamic header lies past the end of the file`);
  const headerBytes = new Uint8Array(DYNAMIC_HEADER_SIZE);
  await readExactly(handle, headerOffset, headerBytes, label);
  const header = parseDynamicHeader(headerBytes, label);
  info.blockSize = header.blockSize;
  if (footer.diskType === "differencing") {
    info.parentId = header.parentId;
    info.parentName = header.parentName;
  }

  const blocks = Math.ceil(footer.currentSize / header.blockSize);
  if (header.maxTableEntries < blocks || header.maxTableEntries > MAX_TABLE_ENTRIES) {
    throw new ChainRejection(
      "vhd-corrupt-header",
      `${label}: block table has ${header.maxTableEntries} entries; a disk of ${footer.currentSize} bytes needs ${blocks} (at most ${MAX_TABLE_ENTRIES})`,
    );
  }
  if (header.tableOffset < FOOTER_SIZE)
    throw new ChainRejection("vhd-corrupt-header", `${label}: block table overlaps the footer copy`);
  if (header.tableOffset + blocks * 4 > dataEnd)
    throw new ChainRejection("truncated", `${label}: block table lies past the end of the file`);
  const raw = new Uint8Array(blocks * 4);
  await readExactly(handle, header.tableOffset, raw, label);
  const view = new DataView(raw.buffer);
  const table = new Uint32Array(blocks);
  const bitmapBytes = Math.ceil(header.blockSize / SECTOR / 8 / SECTOR) * SECTOR;
  for (let block = 0; block < blocks; block++) {
    const entry = view.getUint32(block * 4);
    table[block] = entry;
    if (entry === UNALLOCATED) continue;
    const used = Math.min(header.blockSize, footer.currentSize - block * header.blockSize);
    if (entry * SECTOR < FOOTER_SIZE)
      throw new ChainRejection("vhd-corrupt-header", `${label}: block ${block} overlaps the footer copy`);
    if (entry * SECTOR + bitmapBytes + used > dataEnd) {
      throw new ChainRejection("truncated", `${label}: block ${block} lies past the end of the file`);
    }
  }
  return { info, table };
}

async function parseTrailer(handle: FileHandle, trailer: Uint8Array, label: string) {
  try {
    return parseFooter(trailer, label);
  } catch (error) {
    if (!(error instanceof ChainRejection) || error.code !== "vhd-corrupt-header") throw error;
    // A dynamic or differencing disk whose head copy is intact but whose trailing footer is gone was cut short.
    const head = new Uint8Array(FOOTER_SIZE);
    await readExactly(handle, 0, head, label);
    let headFooter;
    try {
      headFooter = parseFooter(head, label);
    } catch {
      throw error;
    }
    if (headFooter.diskType !== "fixed")
      throw new ChainRejection("truncated", `${label}: the footer at the end is missing (file cut short)`);
    throw error;
  }
}

async function readExactly(handle: FileHandle, position: number, target: Uint8Array, label: string): Promise<void> {
  let filled = 0;
  while (filled < target.length) {
    const { bytesRead } = await handle.read(target, filled, target.length - filled, position + filled);
    if (bytesRead === 0)
      throw new ChainRejection("truncated", `${label}: unexpected end of file at offset ${position + filled}`);
    filled += bytesRead;
  }
}
