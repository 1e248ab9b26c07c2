/** MBR and GPT disks built in memory for the partition detector's tests. */
import { crc32 } from "../../../src/core/inspect/crc.ts";
import { partitionDetector } from "../../../src/plugins/raw/partition.ts";
import type { Detection } from "../../../src/core/inspect/types.ts";
import { memoryReader, type Region } from "../../core/inspect/readers.ts";

/** One MBR partition entry. */
export interface MbrPart {
  status?: number;
  type: number;
  start: number;
  sectors: number;
}

/** A sector ending in 0x55AA with up to four partition entries. */
export function mbr(parts: MbrPart[]): Buffer {
  const sector = Buffer.alloc(512);
  parts.forEach((part, i) => {
    const at = 446 + i * 16;
    sector.writeUInt8(part.status ?? 0, at);
    sector.writeUInt8(part.type, at + 4);
    sector.writeUInt32LE(part.start, at + 8);
    sector.writeUInt32LE(part.sectors, at + 12);
  });
  sector.writeUInt16BE(0x55aa, 510);
  return sector;
}

/** Runs the partition detector on a disk of `size` bytes holding `regions` (zeros elsewhere). */
export function detectPartition(size: number, regions: Region[]): Promise<Detection | null> {
  return partitionDetector.detect(memoryReader(size, regions), {});
}

/** One used GPT entry (a non-zero type GUID) at `index` of the array. */
export interface GptEntry {
  index: number;
  first: bigint;
  last: bigint;
}

/** A GPT disk; CRCs are computed unless overridden. */
export interface GptSpec {
  sectorSize: number;
  size: number;
  headerSize: number;
  myLba: bigint;
  lastUsable: bigint;
  entriesLba: bigint;
  count: number;
  entrySize: number;
  entries: GptEntry[];
  /** Slot of the protective (0xEE) MBR entry. */
  protectiveSlot: number;
  headerCrc?: number;
  entriesCrc?: number;
}

/** A 1 MiB disk of 512-byte sectors with one partition from sector 34 to the last usable one. */
export function gptSpec(change: Partial<GptSpec> = {}): GptSpec {
  const sectorSize = change.sectorSize ?? 512;
  const size = change.size ?? 1024 * 1024;
  const sectors = BigInt(Math.floor(size / sectorSize));
  return {
    sectorSize,
    size,
    headerSize: 92,
    myLba: 1n,
    lastUsable: sectors - 34n,
    entriesLba: 2n,
    count: 128,
    entrySize: 128,
    entries: [{ index: 0, first: 34n, last: sectors - 34n }],
    protectiveSlot: 0,
    ...change,
  };
}

/** The regions of a GPT disk: protective MBR, header at LBA 1, entry array. */
export function gptRegions(spec: GptSpec): Region[] {
  const parts: MbrPart[] = [0, 1, 2, 3].map((i) =>
    i === spec.protectiveSlot ? { type: 0xee, start: 1, sectors: 0xffffffff } : { type: 0, start: 0, sectors: 0 },
  );
  const entries = Buffer.alloc(spec.count * spec.entrySize);
  for (const entry of spec.entries) {
    const at = entry.index * spec.entrySize;
    entries.fill(0x11, at, at + 16);
    entries.writeBigUInt64LE(entry.first, at + 32);
    entries.writeBigUInt64LE(entry.last, at + 40);
  }
  const header = Buffer.alloc(512);
  header.write("EFI PART", 0, "latin1");
  header.writeUInt32LE(0x00010000, 8);
  header.writeUInt32LE(spec.headerSize, 12);
  header.writeBigUInt64LE(spec.myLba, 24);
  header.writeBigUInt64LE(spec.lastUsable, 48);
  header.writeBigUInt64LE(spec.entriesLba, 72);
  header.writeUInt32LE(spec.count, 80);
  header.writeUInt32LE(spec.entrySize, 84);
  header.writeUInt32LE(spec.entriesCrc ?? crc32(entries), 88);
  // Bytes past the header size are not covered by its CRC: fill them so that covering them shows.
  header.fill(0x5a, Math.min(512, Math.max(92, spec.headerSize)), 512);
  header.writeUInt32LE(spec.headerCrc ?? crc32(header.subarray(0, Math.min(512, spec.headerSize))), 16);
  return [
    { offset: 0, bytes: mbr(parts) },
    { offset: spec.sectorSize, bytes: header },
    { offset: Number(spec.entriesLba) * spec.sectorSize, bytes: entries },
  ];
}

/** Runs the partition detector on a GPT disk, with `extra` regions written over it. */
export function detectGpt(spec: GptSpec, extra: Region[] = []): Promise<Detection | null> {
  return detectPartition(spec.size, [...gptRegions(spec), ...extra]);
}
