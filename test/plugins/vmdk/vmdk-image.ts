/** In-memory sparse VMDK images for the VMDK detector's tests: a header, an embedded descriptor, an optional stream footer. */
import type { ImageReader } from "../../../src/core/io/reader.ts";
import type { Detection, DetectContext } from "../../../src/core/inspect/types.ts";
import { vmdkDetector } from "../../../src/plugins/vmdk/detect.ts";
import type { SparseHeader } from "../../../src/plugins/vmdk/sparse-header.ts";
import { memoryReader, type Region } from "../../core/inspect/readers.ts";

/** The fields of a KDMV header, as the builder writes them. */
export type SparseFields = SparseHeader;

export const GD_AT_END = 0xffffffffffffffffn;

/** A monolithicSparse header as qemu-img writes it for a 4 MiB disk: descriptor in sectors 1..20, tables after it. */
export const GOOD: SparseFields = {
  version: 1,
  flags: 3,
  capacity: 8192n,
  granularity: 128n,
  descOffset: 1n,
  descSize: 20n,
  gtes: 512,
  rgdOffset: 21n,
  gdOffset: 22n,
  grainOffset: 128n,
  compression: 0,
};

/** 512 bytes: the magic `KDMV` and the given fields (GOOD's where not given). */
export function sparseHeader(fields: Partial<SparseFields> = {}): Uint8Array {
  const f = { ...GOOD, ...fields };
  const b = Buffer.alloc(512);
  b.write("KDMV", 0, "latin1");
  b.writeUInt32LE(f.version, 4);
  b.writeUInt32LE(f.flags, 8);
  b.writeBigUInt64LE(f.capacity, 12);
  b.writeBigUInt64LE(f.granularity, 20);
  b.writeBigUInt64LE(f.descOffset, 28);
  b.writeBigUInt64LE(f.descSize, 36);
  b.writeUInt32LE(f.gtes, 44);
  b.writeBigUInt64LE(f.rgdOffset, 48);
  b.writeBigUInt64LE(f.gdOffset, 56);
  b.writeBigUInt64LE(f.grainOffset, 64);
  b.writeUInt16LE(f.compression, 77);
  return b;
}

/** A qemu-style descriptor with one extent line (`RW <sectors> SPARSE "disk.vmdk"` unless given). */
export function descriptor(createType = "monolithicSparse", extent = 'RW 8192 SPARSE "disk.vmdk"'): string {
  return [
    "# Disk DescriptorFile",
    "version=1",
    "CID=12345678",
    "parentCID=ffffffff",
    `createType="${createType}"`,
    "",
    "# Extent description",
    extent,
    "",
    "# The Disk Data Base",
    "#DDB",
    "",
    'ddb.virtualHWVersion = "4"',
    "",
  ].join("\n");
}

/** Latin-1 bytes of a string. */
export function latin1(text: string): Uint8Array {
  return Buffer.from(text, "latin1");
}

/** Options for {@link sparseImage}. */
export interface ImageOptions {
  header?: Partial<SparseFields>;
  /** The embedded descriptor at sector 1 (text or raw bytes); a matching one by default. */
  text?: string | Uint8Array;
  /** File size; 1 MiB by default. */
  size?: number;
  regions?: Region[];
}

/** A sparse VMDK: header at 0, descriptor at 512, zeros elsewhere. */
export function sparseImage(options: ImageOptions = {}): ImageReader {
  const header = { ...GOOD, ...options.header };
  const text = options.text ?? descriptor("monolithicSparse", `RW ${header.capacity} SPARSE "disk.vmdk"`);
  const bytes = typeof text === "string" ? latin1(text) : text;
  return memoryReader(options.size ?? 1024 * 1024, [
    { offset: 0, bytes: sparseHeader(header) },
    { offset: 512, bytes },
    ...(options.regions ?? []),
  ]);
}

/** Edits applied to a good stream footer before it is written. */
export interface FooterEdits {
  /** Fields of the footer's own header (the header's by default, with a grain directory just before the footer). */
  footer?: Partial<SparseFields>;
  /** u32 size field of the footer marker (0 in a good one). */
  markerSize?: number;
  markerType?: number;
  magic?: string;
  eosValue?: bigint;
  eosSize?: number;
  eosType?: number;
}

/**
 * A streamOptimized VMDK whose header defers the grain directory (`gdOffset` ~0) to a footer in
 * the last three sectors: a footer marker, the footer header, an end-of-stream marker.
 */
export function streamImage(
  size = 1024 * 1024,
  edits: FooterEdits = {},
  header: Partial<SparseFields> = {},
): ImageReader {
  const head = { ...GOOD, flags: 0x30001, gdOffset: GD_AT_END, compression: 1, ...header };
  const at = size - 1536;
  const marker = Buffer.alloc(512);
  marker.writeBigUInt64LE(1n, 0);
  marker.writeUInt32LE(edits.markerSize ?? 0, 8);
  marker.writeUInt32LE(edits.markerType ?? 3, 12);
  const footer = Buffer.from(sparseHeader({ ...head, gdOffset: BigInt(Math.floor(at / 512) - 1), ...edits.footer }));
  footer.write(edits.magic ?? "KDMV", 0, "latin1");
  const eos = Buffer.alloc(512);
  eos.writeBigUInt64LE(edits.eosValue ?? 0n, 0);
  eos.writeUInt32LE(edits.eosSize ?? 0, 8);
  eos.writeUInt32LE(edits.eosType ?? 0, 12);
  return sparseImage({
    header: head,
    text: descriptor("streamOptimized", `RW ${head.capacity} SPARSE "disk.vmdk"`),
    size,
    regions: [{ offset: at, bytes: Buffer.concat([marker, footer, eos]) }],
  });
}

/** Runs the VMDK detector; fails the test if it says the image is not VMDK. */
export async function detect(reader: ImageReader, context: DetectContext = {}): Promise<Detection> {
  const found = await vmdkDetector.detect(reader, context);
  if (!found) throw new Error("not detected as VMDK");
  return found;
}

/** The problem codes in order, duplicates kept. */
export function codes(found: Detection): string[] {
  return found.problems.map((p) => p.code);
}

/** A reader that claims `size` bytes but whose reads stop at `available` (a file cut short under it). */
export function shortReader(reader: ImageReader, available: number): ImageReader {
  return {
    size: () => reader.size(),
    read: async (offset, length) => (await reader.read(offset, length)).subarray(0, Math.max(0, available - offset)),
    close: () => reader.close(),
  };
}
