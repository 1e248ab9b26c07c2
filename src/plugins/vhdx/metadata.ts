import { hex, matchAscii, readAt, u16le, u32le, u64leBig, type ImageReader } from "../../plugin-api.ts";

const MiB = 1024 * 1024;
const METADATA_TABLE_SIZE = 64 * 1024;
const MAX_ENTRIES = 2047;
const MAX_VIRTUAL_SIZE = 64 * MiB * MiB;
const SECTORS_PER_CHUNK = 2 ** 23;

/**
 * A structural fault of a VHDX; the detector reports its message as `vhdx-corrupt-header`.
 *
 * @example
 * ```ts
 * throw new VhdxCorrupt("no valid header");
 * ```
 */
export class VhdxCorrupt extends Error {}

/** Where a region lies in the file, in bytes. */
export interface Region {
  offset: number;
  length: number;
}

/**
 * A GUID as it sits on disk, in hex: the first three fields little-endian.
 *
 * @example
 * ```ts
 * guidHex("2DC27766-F623-4200-9D64-115E9BFD4A08"); // "6677c22d23f600429d64115e9bfd4a08"
 * ```
 */
export function guidHex(text: string): string {
  const [a, b, c, d, e] = text.toLowerCase().split("-") as [string, string, string, string, string];
  const swap = (s: string) => s.match(/../g)!.reverse().join("");
  return swap(a) + swap(b) + swap(c) + d + e;
}
const ITEM = {
  fileParameters: guidHex("CAA16737-FA36-4D43-B3B6-33F0AA44E76B"),
  virtualDiskSize: guidHex("2FA54224-CD1B-4876-B211-5DBED83BF4B8"),
  page83: guidHex("BECA12AB-B2E6-4523-93EF-C309E000C746"),
  logicalSectorSize: guidHex("8141BF1D-A96F-4709-BA47-F233A8FAAB5F"),
  physicalSectorSize: guidHex("CDA348C7-445D-4471-9CC9-E9885251C556"),
  parentLocator: guidHex("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C"),
} as const;
type ItemName = keyof typeof ITEM;
const REQUIRED_ITEMS: ItemName[] = [
  "fileParameters",
  "virtualDiskSize",
  "page83",
  "logicalSectorSize",
  "physicalSectorSize",
];

/** What the metadata region says about the disk. */
export interface Metadata {
  blockSize: number;
  hasParent: boolean;
  leaveBlocksAllocated: boolean;
  virtualDiskSize: bigint;
  logicalSectorSize: number;
  physicalSectorSize: number;
}

/**
 * Reads the metadata table and the items qemu needs; throws {@link VhdxCorrupt} when they are
 * missing, repeated, unknown and required, or outside the region.
 *
 * @example
 * ```ts
 * const m = await readMetadata(reader, { offset: 2 * 2 ** 20, length: 2 ** 20 });
 * m.blockSize; // 33554432
 * ```
 */
export async function readMetadata(reader: ImageReader, region: Region): Promise<Metadata> {
  // Stryker disable next-line ConditionalExpression,EqualityOperator,StringLiteral: unreachable, regions() accepts only non-zero multiples of 1 MiB, never below 64 KiB
  if (region.length < METADATA_TABLE_SIZE) throw new VhdxCorrupt("metadata region is too small");
  const table = await readAt(reader, region.offset, METADATA_TABLE_SIZE);
  if (table.length < METADATA_TABLE_SIZE || !matchAscii(table, 0, "metadata"))
    throw new VhdxCorrupt("metadata table is invalid");
  const count = u16le(table, 10);
  if (count > MAX_ENTRIES) throw new VhdxCorrupt(`metadata table has ${count} entries`);
  const items: Partial<Record<ItemName, Uint8Array>> = {};
  const names = Object.keys(ITEM) as ItemName[];
  for (let i = 0; i < count; i++) {
    const at = 32 + i * 32;
    const id = hex(table, at, 16);
    const offset = u32le(table, at + 16);
    const length = u32le(table, at + 20);
    const required = u32le(table, at + 24) & 4;
    const name = names.find((n) => ITEM[n] === id);
    if (!name) {
      if (required) throw new VhdxCorrupt(`unknown required metadata item ${id}`);
      continue;
    }
    if (items[name]) throw new VhdxCorrupt(`metadata item ${name} appears twice`);
    if (offset < METADATA_TABLE_SIZE || offset + length > region.length)
      throw new VhdxCorrupt(`metadata item ${name} lies outside its region`);
    items[name] = await readAt(reader, region.offset + offset, Math.min(length, 64));
  }
  for (const name of REQUIRED_ITEMS) {
    if ((items[name]?.length ?? 0) < (name === "virtualDiskSize" ? 8 : name === "page83" ? 16 : 4))
      throw new VhdxCorrupt(`metadata item ${name} is missing`);
  }
  const params = items.fileParameters!;
  return {
    blockSize: u32le(params, 0),
    leaveBlocksAllocated: Boolean(u32le(params, 4) & 1),
    hasParent: Boolean(u32le(params, 4) & 2),
    virtualDiskSize: u64leBig(items.virtualDiskSize!, 0),
    logicalSectorSize: u32le(items.logicalSectorSize!, 0),
    physicalSectorSize: u32le(items.physicalSectorSize!, 0),
  };
}

/**
 * BAT entries qemu expects: payload blocks, with one sector-bitmap entry after every chunk.
 *
 * @example
 * ```ts
 * declare const m: Metadata;
 * const { entries, chunkRatio } = batLayout(m);
 * ```
 */
export function batLayout(m: Metadata): { entries: bigint; chunkRatio: bigint } {
  const block = BigInt(m.blockSize);
  const chunkRatio = (BigInt(SECTORS_PER_CHUNK) * BigInt(m.logicalSectorSize)) / block;
  const dataBlocks = (m.virtualDiskSize + block - 1n) / block;
  const entries = m.hasParent
    ? ((dataBlocks + chunkRatio - 1n) / chunkRatio) * (chunkRatio + 1n)
    : dataBlocks + (dataBlocks - 1n) / chunkRatio;
  return { entries, chunkRatio };
}

/**
 * What is wrong with the disk's parameters (block and sector sizes, virtual size, BAT room), in words.
 *
 * @example
 * ```ts
 * declare const m: Metadata;
 * metadataProblems(m, { offset: 2 ** 20, length: 2 ** 20 }); // [] for a sound disk
 * ```
 */
export function metadataProblems(m: Metadata, bat: Region): string[] {
  const out: string[] = [];
  // Stryker disable next-line ConditionalExpression,EqualityOperator: power() is only asked about block sizes already found to be at least 1 MiB, so n > 0 always holds
  const power = (n: number) => n > 0 && (n & (n - 1)) === 0;
  if (m.blockSize < MiB || m.blockSize > 256 * MiB || !power(m.blockSize))
    out.push(`block size ${m.blockSize} is invalid`);
  // The format allows 4096, but qemu 7.2 refuses it (ENOTSUP).
  if (m.logicalSectorSize !== 512)
    out.push(`logical sector size ${m.logicalSectorSize} is not 512 (the only one qemu-img reads)`);
  if (m.physicalSectorSize !== 512 && m.physicalSectorSize !== 4096)
    out.push(`physical sector size ${m.physicalSectorSize} is invalid`);
  if (m.virtualDiskSize === 0n) out.push("virtual disk size is 0");
  if (m.virtualDiskSize > BigInt(MAX_VIRTUAL_SIZE)) out.push("virtual disk size is above 64 TiB");
  if (out.length === 0 && batLayout(m).entries * 8n > BigInt(bat.length))
    out.push("the BAT region is too small for the disk");
  return out;
}
