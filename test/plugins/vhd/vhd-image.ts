/**
 * VHD images built in memory for the detector's unit tests, laid out like qemu's: a dynamic
 * disk has a footer copy at 0, its dynamic header at 512, its block table at 1536 and the
 * footer at the end; a fixed disk is its data and the footer. Every field can be changed before
 * `reader()` writes the checksums.
 */
import type { ImageReader } from "../../../src/core/io/reader.ts";
import type { Detection } from "../../../src/core/inspect/types.ts";
import { vhdDetector } from "../../../src/plugins/vhd/detect.ts";
import { memoryReader, type Region } from "../../core/inspect/readers.ts";

export const MiB = 1024 * 1024;
export const UNALLOCATED = 0xffffffff;

/** The footer's fields, big-endian on disk. */
export interface FooterFields {
  cookie: string;
  dataOffset: bigint;
  timestamp: number;
  creator: string;
  originalSize: bigint;
  currentSize: bigint;
  cylinders: number;
  heads: number;
  sectorsPerTrack: number;
  type: number;
  uuid: Uint8Array;
  savedState: number;
  /** False writes the checksum plus one. */
  checksum: boolean;
}

/** The dynamic header's fields. */
export interface DynamicFields {
  cookie: string;
  tableOffset: bigint;
  entries: number;
  blockSize: number;
  parentUuid: Uint8Array;
  /** Written as UTF-16BE at byte 64; up to 512 bytes are written. */
  parentName: string;
  checksum: boolean;
}

/** Big-endian bytes of `value` in `width` bytes. */
export function be(value: number | bigint, width: number): Uint8Array {
  const out = new Uint8Array(width);
  let v = BigInt(value);
  for (let i = width - 1; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

/** Latin-1 bytes of `text`. */
function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** One's complement of the byte sum of `bytes`, the checksum field (at `at`) counted as zero. */
export function vhdChecksum(bytes: Uint8Array, at: number): number {
  let sum = 0;
  bytes.forEach((b, i) => {
    if (i < at || i >= at + 4) sum += b;
  });
  return ~sum >>> 0;
}

/** A footer for a disk of `type` and `size` bytes made by qemu (`qem2`, sized by current_size). */
export function footerFields(type: number, size: number | bigint): FooterFields {
  return {
    cookie: "conectix",
    dataOffset: type === 2 ? 0xffffffffffffffffn : 512n,
    timestamp: 0x2c000000,
    creator: "qem2",
    originalSize: BigInt(size),
    currentSize: BigInt(size),
    cylinders: 120,
    heads: 16,
    sectorsPerTrack: 63,
    type,
    uuid: Uint8Array.from({ length: 16 }, (_, i) => i + 1),
    savedState: 0,
    checksum: true,
  };
}

/** The 512 bytes of a footer. */
export function footerBytes(f: FooterFields): Uint8Array {
  const b = new Uint8Array(512);
  b.set(ascii(f.cookie), 0);
  b.set(be(2, 4), 8);
  b.set(be(0x10000, 4), 12);
  b.set(be(f.dataOffset, 8), 16);
  b.set(be(f.timestamp, 4), 24);
  b.set(ascii(f.creator), 28);
  b.set(be(f.originalSize, 8), 40);
  b.set(be(f.currentSize, 8), 48);
  b.set(be(f.cylinders, 2), 56);
  b.set(be(f.heads, 1), 58);
  b.set(be(f.sectorsPerTrack, 1), 59);
  b.set(be(f.type, 4), 60);
  b.set(f.uuid, 68);
  b.set(be(f.savedState, 1), 84);
  b.set(be((vhdChecksum(b, 64) + (f.checksum ? 0 : 1)) >>> 0, 4), 64);
  return b;
}

/** A VHD described field by field; change what a test needs, then call `reader()`. */
export class VhdImage {
  fileSize: number;
  head?: FooterFields;
  tail?: FooterFields;
  dynamic?: DynamicFields;
  /** Block table entries by index (unallocated unless set). */
  bat = new Map<number, number>();
  /** How many table entries are written as unallocated before `bat` is applied (default: `dynamic.entries`, at most 64 Ki). */
  batWritten?: number;
  extra: Region[] = [];

  /** A dynamic disk (or differencing, type 4) of `size` bytes in 2 MiB blocks, or a fixed one (type 2). */
  constructor(type: 2 | 3 | 4, size: number | bigint = 4 * MiB, blockSize = 2 * MiB) {
    if (type === 2) {
      this.fileSize = Number(size) + 512;
      this.tail = footerFields(2, size);
      return;
    }
    const entries = Number((BigInt(size) + BigInt(blockSize) - 1n) / BigInt(blockSize));
    this.head = footerFields(type, size);
    this.tail = footerFields(type, size);
    this.dynamic = {
      cookie: "cxsparse",
      tableOffset: 1536n,
      entries,
      blockSize,
      parentUuid: new Uint8Array(16),
      parentName: "",
      checksum: true,
    };
    this.fileSize = 1536 + Math.ceil((entries * 4) / 512) * 512 + 512;
  }

  /** Changes both footer copies alike. */
  footers(edit: (f: FooterFields) => void): void {
    if (this.head) edit(this.head);
    if (this.tail) edit(this.tail);
  }

  /** The bytes laid out as regions of a sparse image (the dynamic header's checksum is computed last, over what the image holds). */
  layout(): Region[] {
    const out: Region[] = [];
    const d = this.dynamic;
    const dataOffset = this.head?.dataOffset ?? this.tail?.dataOffset ?? 0n;
    if (d) {
      const h = new Uint8Array(1024);
      h.set(ascii(d.cookie), 0);
      h.set(be(0xffffffffffffffffn, 8), 8);
      h.set(be(d.tableOffset, 8), 16);
      h.set(be(0x10000, 4), 24);
      h.set(be(d.entries, 4), 28);
      h.set(be(d.blockSize, 4), 32);
      h.set(d.parentUuid, 40);
      [...d.parentName].slice(0, 256).forEach((c, i) => h.set(be(c.charCodeAt(0), 2), 64 + 2 * i));
      out.push({ offset: Number(dataOffset), bytes: h });
      const written = this.batWritten ?? Math.min(d.entries, 65536);
      const table = new Uint8Array(written * 4).fill(0xff);
      out.push({ offset: Number(d.tableOffset), bytes: table });
      for (const [index, entry] of this.bat)
        out.push({ offset: Number(d.tableOffset) + index * 4, bytes: be(entry, 4) });
    }
    out.push(...this.extra);
    if (this.head) out.push({ offset: 0, bytes: footerBytes(this.head) });
    if (this.tail) out.push({ offset: this.fileSize - 512, bytes: footerBytes(this.tail) });
    return out;
  }

  /** An in-memory reader of the image. */
  async reader(): Promise<ImageReader> {
    const regions = this.layout();
    const d = this.dynamic;
    const at = Number(this.head?.dataOffset ?? 0n);
    // A header offset inside the footer copy at 0 (or past 2^53) is left as the footer's bytes.
    if (d && at >= 512 && Number.isSafeInteger(at)) {
      const bytes = await memoryReader(this.fileSize, regions).read(at, 1024);
      if (bytes.length === 1024)
        regions.push({ offset: at + 36, bytes: be((vhdChecksum(bytes, 36) + (d.checksum ? 0 : 1)) >>> 0, 4) });
    }
    return memoryReader(this.fileSize, regions);
  }
}

/** Runs the VHD detector on `image`, inside a chain container when `inChainContainer`. */
export async function detectVhd(image: VhdImage, inChainContainer = false): Promise<Detection | null> {
  return vhdDetector.detect(await image.reader(), { inChainContainer });
}
