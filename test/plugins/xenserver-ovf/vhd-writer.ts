import { randomBytes } from "node:crypto";

/** A sector-aligned write into a virtual disk. */
export interface DiskWrite {
  offset: number;
  data: Uint8Array;
}

/** What {@link buildVhd} lays out. Test-only: no attempt at matching any real tool byte for byte. */
export interface VhdLayout {
  type: "fixed" | "dynamic" | "differencing";
  size: number;
  /** Dynamic and differencing disks (default 2 MiB). */
  blockSize?: number;
  uniqueId?: Uint8Array;
  parentId?: Uint8Array;
  parentName?: string;
  /** Sectors stored in this file; later writes win. */
  writes?: DiskWrite[];
  /** Bytes of allocated-but-unstored sectors (default 0); a non-zero value checks that bitmaps are honoured. */
  filler?: number;
  /** Blocks to allocate with no sector stored. */
  emptyBlocks?: number[];
  /** Place blocks in the file in descending block order. */
  descending?: boolean;
  /** Table entries to declare (default: exactly what the size needs). */
  maxTableEntries?: number;
  creatorApp?: string;
}

const SECTOR = 512;

/**
 * Builds a VHD image in memory.
 *
 * @example
 * ```ts
 * const base = buildVhd({ type: "dynamic", size: 3 << 20, writes: [{ offset: 0, data: Buffer.alloc(512, 1) }] });
 * const leaf = buildVhd({ type: "differencing", size: 3 << 20, parentId: base.uniqueId });
 * ```
 */
export function buildVhd(layout: VhdLayout): { bytes: Buffer; uniqueId: Uint8Array } {
  const uniqueId = layout.uniqueId ?? randomId();
  if (layout.type === "fixed") {
    const disk = Buffer.alloc(layout.size);
    applyWrites(disk, layout.writes ?? []);
    return { bytes: Buffer.concat([disk, footer(layout, uniqueId, null)]), uniqueId };
  }
  const blockSize = layout.blockSize ?? 2 * 1024 * 1024;
  const spb = blockSize / SECTOR;
  const bitmapBytes = Math.ceil(spb / 8 / SECTOR) * SECTOR;
  const blocks = Math.ceil(layout.size / blockSize);
  const entries = layout.maxTableEntries ?? blocks;
  const tableBytes = Math.ceil((entries * 4) / SECTOR) * SECTOR;

  const stored = new Map<number, { bitmap: Buffer; data: Buffer }>();
  const blockOf = (index: number) => {
    let block = stored.get(index);
    if (!block) {
      block = { bitmap: Buffer.alloc(bitmapBytes), data: Buffer.alloc(blockSize, layout.filler ?? 0) };
      stored.set(index, block);
    }
    return block;
  };
  for (const index of layout.emptyBlocks ?? []) blockOf(index);
  for (const write of layout.writes ?? []) {
    checkWrite(write, layout.size);
    for (let s = 0; s < write.data.length / SECTOR; s++) {
      const at = write.offset + s * SECTOR;
      const block = blockOf(Math.floor(at / blockSize));
      const sector = (at % blockSize) / SECTOR;
      block.bitmap[sector >> 3] |= 0x80 >> (sector & 7);
      block.data.set(write.data.subarray(s * SECTOR, (s + 1) * SECTOR), sector * SECTOR);
    }
  }

  const tableOffset = 3 * SECTOR;
  const table = Buffer.alloc(tableBytes, 0xff);
  const parts: Buffer[] = [];
  let next = tableOffset + tableBytes;
  const order = [...stored.keys()].sort((a, b) => (layout.descending ? b - a : a - b));
  for (const index of order) {
    const block = stored.get(index)!;
    table.writeUInt32BE(next / SECTOR, index * 4);
    parts.push(block.bitmap, block.data);
    next += bitmapBytes + blockSize;
  }
  const foot = footer(layout, uniqueId, SECTOR);
  const head = header(layout, tableOffset, entries, blockSize);
  return { bytes: Buffer.concat([foot, head, table, ...parts, foot]), uniqueId };
}

/**
 * Applies writes to a plain disk buffer: the independent model tests compare against.
 *
 * @example
 * ```ts
 * const disk = Buffer.alloc(size); applyWrites(disk, baseWrites); applyWrites(disk, leafWrites);
 * ```
 */
export function applyWrites(disk: Buffer, writes: readonly DiskWrite[]): Buffer {
  for (const write of writes) {
    checkWrite(write, disk.length);
    disk.set(write.data, write.offset);
  }
  return disk;
}

/** A random 16-byte unique id. @example const id = randomId(); */
export function randomId(): Uint8Array {
  return new Uint8Array(randomBytes(16));
}

/**
 * Recomputes a structure's checksum field (after a test altered it on purpose).
 *
 * @example
 * ```ts
 * bytes.writeUInt32BE(5, 60); fixChecksum(bytes.subarray(0, 512), 64);
 * ```
 */
export function fixChecksum(structure: Buffer, checksumOffset: number): void {
  structure.writeUInt32BE(0, checksumOffset);
  let sum = 0;
  for (const byte of structure) sum += byte;
  structure.writeUInt32BE(~sum >>> 0, checksumOffset);
}

function checkWrite(write: DiskWrite, size: number): void {
  if (write.offset % SECTOR || write.data.length % SECTOR || write.offset + write.data.length > size) {
    throw new RangeError(`write ${write.offset}+${write.data.length} is not sector-aligned inside ${size}`);
  }
}

function footer(layout: VhdLayout, uniqueId: Uint8Array, dataOffset: number | null): Buffer {
  const b = Buffer.alloc(SECTOR);
  b.write("conectix", 0, "latin1");
  b.writeUInt32BE(2, 8);
  b.writeUInt32BE(0x0001_0000, 12);
  b.writeBigUInt64BE(dataOffset === null ? 0xffff_ffff_ffff_ffffn : BigInt(dataOffset), 16);
  b.writeUInt32BE(0x2a000000, 24);
  b.write((layout.creatorApp ?? "tap\0").padEnd(4, "\0").slice(0, 4), 28, "latin1");
  b.writeUInt32BE(0x0001_0003, 32);
  b.write("Wi2k", 36, "latin1");
  b.writeBigUInt64BE(BigInt(layout.size), 40);
  b.writeBigUInt64BE(BigInt(layout.size), 48);
  b.writeUInt16BE(Math.min(65535, Math.ceil(layout.size / SECTOR / 16 / 255)), 56);
  b.writeUInt8(16, 58);
  b.writeUInt8(255, 59);
  b.writeUInt32BE({ fixed: 2, dynamic: 3, differencing: 4 }[layout.type], 60);
  Buffer.from(uniqueId).copy(b, 68);
  fixChecksum(b, 64);
  return b;
}

function header(layout: VhdLayout, tableOffset: number, entries: number, blockSize: number): Buffer {
  const b = Buffer.alloc(1024);
  b.write("cxsparse", 0, "latin1");
  b.writeBigUInt64BE(0xffff_ffff_ffff_ffffn, 8);
  b.writeBigUInt64BE(BigInt(tableOffset), 16);
  b.writeUInt32BE(0x0001_0000, 24);
  b.writeUInt32BE(entries, 28);
  b.writeUInt32BE(blockSize, 32);
  if (layout.type === "differencing") {
    Buffer.from(layout.parentId ?? new Uint8Array(16)).copy(b, 40);
    const name = Buffer.from(layout.parentName ?? "parent.vhd", "utf16le").swap16();
    name.copy(b, 64, 0, Math.min(name.length, 510));
  }
  fixChecksum(b, 36);
  return b;
}
