/**
 * VHDX images built in memory for the detector's unit tests: two headers, a region table, a
 * metadata region with its five required items and a BAT, laid out like qemu's (log at 1 MiB,
 * metadata at 2 MiB, BAT at 3 MiB, payload from 4 MiB). Every field can be changed before
 * `reader()` writes the CRC-32C of each header and of the region table.
 */
import type { ImageReader } from "../../../src/core/io/reader.ts";
import { crc32c } from "../../../src/core/inspect/crc.ts";
import type { Detection, HeaderFacts } from "../../../src/core/inspect/types.ts";
import { vhdxDetector } from "../../../src/plugins/vhdx/detect.ts";
import { memoryReader, type Region } from "../../core/inspect/readers.ts";

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const HEADER_AT = [64 * KiB, 128 * KiB] as const;
export const REGION_TABLE_AT = 192 * KiB;
/** Where the default layout puts the log, the metadata region and the BAT. */
export const LOG_AT = MiB;
export const METADATA_AT = 2 * MiB;
export const BAT_AT = 3 * MiB;
/** A BAT entry's state for a fully present payload block. */
export const PRESENT = 6n;

/** The GUIDs of the regions and metadata items the detector knows. */
export const GUID = {
  bat: "2DC27766-F623-4200-9D64-115E9BFD4A08",
  metadata: "8B7CA206-4790-4B9A-B8FE-575F050F886E",
  fileParameters: "CAA16737-FA36-4D43-B3B6-33F0AA44E76B",
  virtualDiskSize: "2FA54224-CD1B-4876-B211-5DBED83BF4B8",
  page83: "BECA12AB-B2E6-4523-93EF-C309E000C746",
  logicalSectorSize: "8141BF1D-A96F-4709-BA47-F233A8FAAB5F",
  physicalSectorSize: "CDA348C7-445D-4471-9CC9-E9885251C556",
  parentLocator: "A8D35F2D-B30B-454D-ABF7-D3D84834AB0C",
  other: "01234567-89AB-CDEF-0123-456789ABCDEF",
} as const;

/** A GUID's 16 bytes as VHDX stores them (the first three fields little-endian). */
export function guidBytes(text: string): Uint8Array {
  const parts = text.split("-");
  const bytes = (s: string) => (s.match(/../g) ?? []).map((h) => parseInt(h, 16));
  const le = (s: string) => bytes(s).reverse();
  return Uint8Array.from([
    ...le(parts[0] ?? ""),
    ...le(parts[1] ?? ""),
    ...le(parts[2] ?? ""),
    ...bytes(parts[3] ?? ""),
    ...bytes(parts[4] ?? ""),
  ]);
}

/** One entry of the region table. */
export interface RegionEntry {
  guid: string;
  offset: number | bigint;
  length: number;
  required: number;
}

/** One entry of the metadata table; `value` is written at `offset` inside the metadata region. */
export interface ItemEntry {
  guid: string;
  offset: number;
  length: number;
  flags: number;
  value?: Uint8Array;
}

/** Little-endian bytes of `value` in `width` bytes. */
export function le(value: number | bigint, width: number): Uint8Array {
  const out = new Uint8Array(width);
  let v = BigInt(value);
  for (let i = 0; i < width; i++, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

/** One VHDX header's fields; `edit` changes its bytes after they are laid out (before its CRC). */
export interface HeaderFields {
  signature: string;
  sequence: bigint;
  logGuid: Uint8Array;
  logVersion: number;
  version: number;
  logLength: number;
  logOffset: number | bigint;
  /** False keeps a checksum of zero instead of the right one. */
  checksum: boolean;
  edit?: (bytes: Uint8Array) => void;
}

/** The default header: sequence `sequence`, a 1 MiB log at 1 MiB with nothing to replay. */
export function headerFields(sequence: bigint): HeaderFields {
  return {
    signature: "head",
    sequence,
    logGuid: new Uint8Array(16),
    logVersion: 0,
    version: 1,
    logLength: MiB,
    logOffset: LOG_AT,
    checksum: true,
  };
}

/** A VHDX image described field by field; change what a test needs, then call `reader()`. */
export class VhdxImage {
  fileSize = 8 * MiB;
  fileId = "vhdxfile";
  headers: (HeaderFields | undefined)[] = [headerFields(1n), headerFields(0n)];
  regionSignature = "regi";
  regionChecksum = true;
  /** How many bytes of the region table its CRC covers (a table cut short by the end of the file covers fewer). */
  regionChecksumOver = 64 * KiB;
  regions: RegionEntry[] = [
    { guid: GUID.bat, offset: BAT_AT, length: MiB, required: 1 },
    { guid: GUID.metadata, offset: METADATA_AT, length: MiB, required: 1 },
  ];
  /** Overrides the region count written in the table (else the number of `regions`). */
  regionCount?: number;
  metadataSignature = "metadata";
  /** Where the metadata table is written (the metadata region's offset unless a test moves it). */
  metadataAt = METADATA_AT;
  items: ItemEntry[];
  itemCount?: number;
  /** BAT entries by index, written at the BAT region's offset. */
  bat = new Map<number, bigint>();
  batAt = BAT_AT;

  constructor(
    options: {
      blockSize?: number;
      fileFlags?: number;
      virtualDiskSize?: bigint;
      logical?: number;
      physical?: number;
    } = {},
  ) {
    const value = (n: number | bigint, width: number) => le(n, width);
    this.items = [
      {
        guid: GUID.fileParameters,
        offset: 64 * KiB,
        length: 8,
        flags: 4,
        value: Uint8Array.from([...value(options.blockSize ?? MiB, 4), ...value(options.fileFlags ?? 0, 4)]),
      },
      {
        guid: GUID.virtualDiskSize,
        offset: 64 * KiB + 0x100,
        length: 8,
        flags: 6,
        value: value(options.virtualDiskSize ?? BigInt(4 * MiB), 8),
      },
      { guid: GUID.page83, offset: 64 * KiB + 0x200, length: 16, flags: 6, value: new Uint8Array(16).fill(0xab) },
      {
        guid: GUID.logicalSectorSize,
        offset: 64 * KiB + 0x300,
        length: 4,
        flags: 6,
        value: value(options.logical ?? 512, 4),
      },
      {
        guid: GUID.physicalSectorSize,
        offset: 64 * KiB + 0x400,
        length: 4,
        flags: 6,
        value: value(options.physical ?? 512, 4),
      },
    ];
  }

  /** The item entry for `guid` (the test's own builder always has it). */
  item(guid: string): ItemEntry {
    const found = this.items.find((i) => i.guid === guid);
    if (!found) throw new Error(`no item ${guid}`);
    return found;
  }

  /** The bytes laid out as regions of a sparse image. */
  layout(): Region[] {
    const out: Region[] = [{ offset: 0, bytes: ascii(this.fileId) }];
    this.headers.forEach((h, i) => {
      if (h) out.push({ offset: HEADER_AT[i] ?? 0, bytes: header(h) });
    });
    const table = new Uint8Array(64 * KiB);
    table.set(ascii(this.regionSignature), 0);
    table.set(le(this.regionCount ?? this.regions.length, 4), 8);
    this.regions.forEach((r, i) => {
      const at = 16 + i * 32;
      table.set(guidBytes(r.guid), at);
      table.set(le(r.offset, 8), at + 16);
      table.set(le(r.length, 4), at + 24);
      table.set(le(r.required, 4), at + 28);
    });
    if (this.regionChecksum) table.set(le(crc32c(table.subarray(0, this.regionChecksumOver)), 4), 4);
    out.push({ offset: REGION_TABLE_AT, bytes: table });
    const meta = new Uint8Array(64 * KiB);
    meta.set(ascii(this.metadataSignature), 0);
    meta.set(le(this.itemCount ?? this.items.length, 2), 10);
    this.items.forEach((item, i) => {
      const at = 32 + i * 32;
      meta.set(guidBytes(item.guid), at);
      meta.set(le(item.offset, 4), at + 16);
      meta.set(le(item.length, 4), at + 20);
      meta.set(le(item.flags, 4), at + 24);
    });
    out.push({ offset: this.metadataAt, bytes: meta });
    for (const item of this.items)
      if (item.value) out.push({ offset: this.metadataAt + item.offset, bytes: item.value });
    for (const [index, entry] of this.bat) out.push({ offset: this.batAt + index * 8, bytes: le(entry, 8) });
    return out;
  }

  /** An in-memory reader of the image. */
  reader(): ImageReader {
    return memoryReader(this.fileSize, this.layout());
  }
}

/** Latin-1 bytes of `text`. */
function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** A 4 KiB header with its CRC-32C (or a zero checksum when `checksum` is false). */
function header(h: HeaderFields): Uint8Array {
  const bytes = new Uint8Array(4 * KiB);
  bytes.set(ascii(h.signature), 0);
  bytes.set(le(h.sequence, 8), 8);
  bytes.set(h.logGuid, 48);
  bytes.set(le(h.logVersion, 2), 64);
  bytes.set(le(h.version, 2), 66);
  bytes.set(le(h.logLength, 4), 68);
  bytes.set(le(h.logOffset, 8), 72);
  h.edit?.(bytes);
  if (h.checksum) bytes.set(le(crc32c(bytes), 4), 4);
  return bytes;
}

/** Runs the VHDX detector on `image`, collecting what it tells `onHeader`. */
export async function detect(image: VhdxImage): Promise<{ found: Detection | null; headers: HeaderFacts[] }> {
  const headers: HeaderFacts[] = [];
  const found = await vhdxDetector.detect(image.reader(), { onHeader: (h) => headers.push(h) });
  return { found, headers };
}

/** What the detector returns for a corrupt image: `why` after "VHDX is corrupt: ", nothing else known. */
export function corrupt(why: string): Detection {
  return {
    format: "vhdx",
    variant: undefined,
    virtualSize: undefined,
    problems: [{ code: "vhdx-corrupt-header", message: `VHDX is corrupt: ${why}` }],
    details: {},
  };
}

/** The detection of a clean 512-byte-sector image of `virtualSize` bytes with 1 MiB blocks. */
export function clean(virtualSize: number, variant = "dynamic", blockSize = MiB): Detection {
  return {
    format: "vhdx",
    variant,
    virtualSize,
    problems: [],
    details: { blockSize, logicalSectorSize: 512, physicalSectorSize: 512 },
  };
}
