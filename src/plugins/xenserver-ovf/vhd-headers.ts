import {
  readVhdDynamicHeader,
  readVhdFooter,
  vhdChecksum,
  VHD_DYNAMIC_HEADER_SIZE,
  VHD_FOOTER_SIZE,
} from "../../plugin-api.ts";
import { ChainRejection } from "./rejection.ts";

/** Size of the VHD footer (and of its copy at offset 0 in dynamic and differencing disks). */
export const FOOTER_SIZE = VHD_FOOTER_SIZE;
/** Size of the dynamic disk header (`cxsparse`). */
export const DYNAMIC_HEADER_SIZE = VHD_DYNAMIC_HEADER_SIZE;
/** VHD's largest disk: 2 TiB (the format's own limit is 2040 GiB; tools stop at 2 TiB). */
export const MAX_VHD_SIZE = 2 ** 41;
/** Smallest block size accepted in a dynamic header. */
export const MIN_BLOCK_SIZE = 512 * 1024;
/** Largest block size accepted in a dynamic header. */
export const MAX_BLOCK_SIZE = 256 * 1024 * 1024;

/** The three kinds of VHD. */
export type VhdDiskType = "fixed" | "dynamic" | "differencing";

/**
 * What diskpipe uses of a VHD footer.
 *
 * @example
 * ```ts
 * declare const lastSector: Uint8Array; // the file's last 512 bytes
 * const { diskType, currentSize, uniqueId } = parseFooter(lastSector, "0.vhd");
 * ```
 */
export interface VhdFooter {
  diskType: VhdDiskType;
  /** Virtual size in bytes (`current size`), a multiple of 512. */
  currentSize: number;
  /** Offset of the dynamic header; absent for fixed disks. */
  dataOffset?: number;
  /** The unique id, as lowercase hex in uuid form (bytes in file order). */
  uniqueId: string;
  /** The four-character creator application, e.g. `tap\0` (XenServer), `qemu`, `win `. */
  creatorApp: string;
}

/**
 * What diskpipe uses of a dynamic disk header.
 *
 * @example
 * ```ts
 * declare const headerBytes: Uint8Array; // 1024 bytes at the footer's dataOffset
 * const { blockSize, parentId } = parseDynamicHeader(headerBytes, "0.vhd");
 * ```
 */
export interface VhdDynamicHeader {
  /** Absolute offset of the block allocation table. */
  tableOffset: number;
  maxTableEntries: number;
  /** Bytes of data per block: a power of two in [MIN_BLOCK_SIZE, MAX_BLOCK_SIZE]. */
  blockSize: number;
  /** The parent's unique id (all zeroes for a dynamic disk). */
  parentId: string;
  /** The parent's file name as recorded by the tool that made the disk (informational only). */
  parentName: string;
}

const DISK_TYPES: Record<number, VhdDiskType> = { 2: "fixed", 3: "dynamic", 4: "differencing" };
const ALL_ONES_64 = 0xffff_ffff_ffff_ffffn;

/**
 * Formats a unique id's 32 hex digits (file byte order) in uuid form, as `vhd-util` and
 * `vhdiinfo` show it.
 *
 * @example
 * ```ts
 * formatUuid("00112233445566778899aabbccddeeff"); // "00112233-4455-6677-8899-aabbccddeeff"
 * ```
 */
export function formatUuid(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Parses and checks a 512-byte VHD footer: cookie, checksum, disk type and size.
 * Throws a {@link ChainRejection} naming `label` when anything is wrong.
 *
 * @example
 * ```ts
 * declare const lastSector: Uint8Array;
 * const footer = parseFooter(lastSector, "0.vhd");
 * if (footer.diskType === "differencing") console.log("has a parent");
 * ```
 */
export function parseFooter(bytes: Uint8Array, label: string): VhdFooter {
  if (bytes.length < FOOTER_SIZE) throw new ChainRejection("truncated", `${label}: shorter than a VHD footer`);
  const fields = readVhdFooter(bytes);
  if (!fields.cookie)
    throw new ChainRejection("vhd-corrupt-header", `${label}: no VHD footer (cookie "conectix" missing)`);
  if (vhdChecksum(bytes.subarray(0, FOOTER_SIZE), 64) !== fields.checksum) {
    throw new ChainRejection("vhd-checksum", `${label}: footer checksum mismatch`);
  }
  const diskType = DISK_TYPES[fields.type];
  if (!diskType) throw new ChainRejection("vhd-corrupt-header", `${label}: unknown disk type ${fields.type}`);
  const size = fields.currentSize;
  if (size === 0n || size > BigInt(MAX_VHD_SIZE) || size % 512n !== 0n) {
    throw new ChainRejection(
      "vhd-corrupt-header",
      `${label}: current size ${size} is not a multiple of 512 in (0, 2 TiB]`,
    );
  }
  const footer: VhdFooter = {
    diskType,
    currentSize: Number(size),
    uniqueId: formatUuid(fields.uniqueId),
    creatorApp: fields.creator,
  };
  if (diskType !== "fixed") {
    const offset = fields.dataOffset;
    if (offset === ALL_ONES_64 || offset < BigInt(FOOTER_SIZE) || offset > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new ChainRejection(
        "vhd-corrupt-header",
        `${label}: ${diskType} disk with an invalid data offset ${offset}`,
      );
    }
    footer.dataOffset = Number(offset);
  }
  return footer;
}

/**
 * Parses and checks a 1024-byte dynamic disk header: cookie, checksum, version, block size.
 * Offsets are checked against the file by the reader, which knows its size.
 *
 * @example
 * ```ts
 * import { readAt } from "diskpipe/plugin";
 * declare const footer: VhdFooter;
 * const header = parseDynamicHeader(await readAt(reader, footer.dataOffset!, 1024), "1.vhd");
 * console.log(header.blockSize); // 2097152
 * ```
 */
export function parseDynamicHeader(bytes: Uint8Array, label: string): VhdDynamicHeader {
  if (bytes.length < DYNAMIC_HEADER_SIZE) throw new ChainRejection("truncated", `${label}: dynamic header cut short`);
  const fields = readVhdDynamicHeader(bytes);
  if (!fields.cookie)
    throw new ChainRejection("vhd-corrupt-header", `${label}: no dynamic header (cookie "cxsparse" missing)`);
  if (vhdChecksum(bytes.subarray(0, DYNAMIC_HEADER_SIZE), 36) !== fields.checksum) {
    throw new ChainRejection("vhd-checksum", `${label}: dynamic header checksum mismatch`);
  }
  if (fields.version !== 0x0001_0000) {
    throw new ChainRejection(
      "vhd-corrupt-header",
      `${label}: unknown dynamic header version 0x${fields.version.toString(16)}`,
    );
  }
  const { blockSize, tableOffset } = fields;
  if (blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE || (blockSize & (blockSize - 1)) !== 0) {
    throw new ChainRejection(
      "vhd-corrupt-header",
      `${label}: block size ${blockSize} is not a power of two in [512 KiB, 256 MiB]`,
    );
  }
  if (tableOffset > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ChainRejection("vhd-corrupt-header", `${label}: block table offset ${tableOffset} out of range`);
  }
  return {
    tableOffset: Number(tableOffset),
    maxTableEntries: fields.maxTableEntries,
    blockSize,
    parentId: formatUuid(fields.parentId),
    parentName: fields.parentName,
  };
}
