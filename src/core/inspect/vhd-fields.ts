import { hex, matchAscii, u16be, u32be, u64beBig, u8 } from "./bytes.ts";

/** Bytes of a VHD footer (and of its copy at offset 0 in dynamic and differencing disks). */
export const VHD_FOOTER_SIZE = 512;
/** Bytes of a VHD dynamic disk header (`cxsparse`). */
export const VHD_DYNAMIC_HEADER_SIZE = 1024;

/**
 * The fields of a VHD footer as they are written, unchecked: what to accept is the reader's
 * rule (the inspector follows qemu; a chain coalescer is stricter).
 *
 * @example
 * ```ts
 * const lastSector = await readAt(reader, (await reader.size()) - 512, 512);
 * const footer: VhdFooterFields = readVhdFooter(lastSector);
 * footer.type; // 2 fixed, 3 dynamic, 4 differencing
 * ```
 */
export interface VhdFooterFields {
  /** Whether the footer starts with the cookie `conectix`. */
  cookie: boolean;
  /** Offset of the dynamic header (all ones for fixed disks). */
  dataOffset: bigint;
  /** The four-character creator application, e.g. `tap\0` (XenServer), `qemu`, `win `. */
  creator: string;
  /** `current size`, in bytes. */
  currentSize: bigint;
  cylinders: number;
  heads: number;
  sectorsPerTrack: number;
  /** Disk type: 2 fixed, 3 dynamic, 4 differencing. */
  type: number;
  /** The checksum field, to compare with {@link vhdChecksum}. */
  checksum: number;
  /** The unique id's 16 bytes as lowercase hex, in file order. */
  uniqueId: string;
}

/**
 * The fields of a VHD dynamic disk header as they are written, unchecked.
 *
 * @example
 * ```ts
 * declare const bytes: Uint8Array;
 * const header: VhdDynamicHeaderFields = readVhdDynamicHeader(bytes);
 * header.blockSize; // 2097152
 * ```
 */
export interface VhdDynamicHeaderFields {
  /** Whether the header starts with the cookie `cxsparse`. */
  cookie: boolean;
  /** Absolute offset of the block allocation table. */
  tableOffset: bigint;
  /** Header version (0x00010000 is the only one defined). */
  version: number;
  maxTableEntries: number;
  blockSize: number;
  /** The checksum field, to compare with {@link vhdChecksum}. */
  checksum: number;
  /** The parent's unique id as lowercase hex (all zeroes for a dynamic disk). */
  parentId: string;
  /** The parent's file name (UTF-16 big-endian, up to the first NUL), as the tool that made the disk wrote it. */
  parentName: string;
}

/**
 * The VHD checksum of a structure: the one's complement of the sum of its bytes, the four
 * checksum bytes at `checksumAt` counted as zero.
 *
 * @example
 * ```ts
 * declare const footer: Uint8Array;
 * const ok = vhdChecksum(footer, 64) === readVhdFooter(footer).checksum;
 * ```
 */
export function vhdChecksum(bytes: Uint8Array, checksumAt: number): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) if (i < checksumAt || i >= checksumAt + 4) sum += u8(bytes, i);
  return ~sum >>> 0;
}

/**
 * Reads the fields of a 512-byte VHD footer (bytes past the end read as zero).
 *
 * @example
 * ```ts
 * const size = await reader.size();
 * const { currentSize, type } = readVhdFooter(await readAt(reader, size - 512, 512));
 * ```
 */
export function readVhdFooter(bytes: Uint8Array): VhdFooterFields {
  return {
    cookie: matchAscii(bytes, 0, "conectix"),
    dataOffset: u64beBig(bytes, 16),
    creator: String.fromCharCode(u8(bytes, 28), u8(bytes, 29), u8(bytes, 30), u8(bytes, 31)),
    currentSize: u64beBig(bytes, 48),
    cylinders: u16be(bytes, 56),
    heads: u8(bytes, 58),
    sectorsPerTrack: u8(bytes, 59),
    type: u32be(bytes, 60),
    checksum: u32be(bytes, 64),
    uniqueId: hex(bytes, 68, 16),
  };
}

/**
 * Reads the fields of a 1024-byte VHD dynamic disk header (bytes past the end read as zero).
 *
 * @example
 * ```ts
 * declare const offset: number;
 * const { tableOffset, maxTableEntries } = readVhdDynamicHeader(await readAt(reader, offset, 1024));
 * ```
 */
export function readVhdDynamicHeader(bytes: Uint8Array): VhdDynamicHeaderFields {
  return {
    cookie: matchAscii(bytes, 0, "cxsparse"),
    tableOffset: u64beBig(bytes, 16),
    version: u32be(bytes, 24),
    maxTableEntries: u32be(bytes, 28),
    blockSize: u32be(bytes, 32),
    checksum: u32be(bytes, 36),
    parentId: hex(bytes, 40, 16),
    parentName: utf16beText(bytes, 64, 512),
  };
}

/** UTF-16 big-endian text of a field, up to its first NUL code unit. */
function utf16beText(bytes: Uint8Array, offset: number, length: number): string {
  let out = "";
  for (let i = offset; i + 1 < Math.min(bytes.length, offset + length); i += 2) {
    const code = u16be(bytes, i);
    if (code === 0) break;
    out += String.fromCharCode(code);
  }
  return out;
}
