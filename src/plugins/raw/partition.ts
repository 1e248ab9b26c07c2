import {
  crc32,
  isZero,
  matchAscii,
  problemOf,
  qemuLength,
  readAt,
  readChunks,
  u16le,
  u32le,
  u64leBig,
  u8,
  type Detection,
  type Detector,
  type ImageReader,
  type Problem,
} from "../../plugin-api.ts";

/**
 * The problem codes the partition detector reports besides the common `truncated` (stable;
 * scripts match on them):
 *   partition-table  GPT header/entries CRC or bounds, MBR partitions past the end
 *
 * @example
 * ```ts
 * partitionProblemCodes.includes("partition-table"); // true
 * ```
 */
export const partitionProblemCodes = ["partition-table"] as const;

const problem = problemOf(partitionProblemCodes);

const MBR_SIZE = 512;
const TABLE = 446;
const PROTECTIVE = 0xee;
const GPT_SECTOR_SIZES = [512, 4096];
/** 128 entries of 128 bytes is the norm; 64× that still reads in a moment. */
const MAX_ENTRY_ARRAY = 1024 * 1024;
const ENTRY_CHUNK = 64 * 1024;
const MAX_REPORTED = 3;

interface MbrEntry {
  status: number;
  type: number;
  start: number;
  sectors: number;
}

function mbrEntries(mbr: Uint8Array): MbrEntry[] {
  return [0, 1, 2, 3].map((i) => {
    const at = TABLE + i * 16;
    return { status: u8(mbr, at), type: u8(mbr, at + 4), start: u32le(mbr, at + 8), sectors: u32le(mbr, at + 12) };
  });
}

/** A FAT/NTFS/exFAT volume boot record also ends in 0x55AA; it is a filesystem, not a partition table. */
function isBootSector(mbr: Uint8Array): boolean {
  const jump = (u8(mbr, 0) === 0xeb && u8(mbr, 2) === 0x90) || u8(mbr, 0) === 0xe9;
  if (!jump) return false;
  if (matchAscii(mbr, 3, "NTFS    ") || matchAscii(mbr, 3, "EXFAT   ")) return true;
  const bytesPerSector = u16le(mbr, 11);
  const sectorsPerCluster = u8(mbr, 13);
  const reserved = u16le(mbr, 14);
  const fats = u8(mbr, 16);
  const power = (n: number) => n > 0 && (n & (n - 1)) === 0;
  return (
    [512, 1024, 2048, 4096].includes(bytesPerSector) &&
    power(sectorsPerCluster) &&
    reserved >= 1 &&
    (fats === 1 || fats === 2)
  );
}

function mbrProblems(entries: MbrEntry[], fileSectors: number): Problem[] {
  const outside = entries.filter((e) => e.type !== 0 && e.sectors > 0 && e.start + e.sectors > fileSectors);
  if (outside.length === 0) return [];
  const list = outside
    .slice(0, MAX_REPORTED)
    .map((e) => `type 0x${e.type.toString(16)} at ${e.start}+${e.sectors}`)
    .join(", ");
  return [problem("partition-table", `MBR partitions end past the end of the disk (${fileSectors} sectors): ${list}`)];
}

/** Finds the GPT header at LBA 1 for 512-byte or 4 KiB sectors. */
async function gptHeader(reader: ImageReader): Promise<{ header: Uint8Array; sectorSize: number } | undefined> {
  for (const sectorSize of GPT_SECTOR_SIZES) {
    const header = await readAt(reader, sectorSize, 512);
    if (matchAscii(header, 0, "EFI PART")) return { header, sectorSize };
  }
  return undefined;
}

async function gptProblems(
  reader: ImageReader,
  fileSize: number,
): Promise<{ problems: Problem[]; details: Record<string, unknown> }> {
  const bad = (why: string) => ({ problems: [problem("partition-table", `GPT is invalid: ${why}`)], details: {} });
  const found = await gptHeader(reader);
  if (!found) return bad("a protective MBR but no GPT header");
  const { header, sectorSize } = found;
  const headerSize = u32le(header, 12);
  if (headerSize < 92 || headerSize > 512) return bad(`header size ${headerSize} is invalid`);
  const copy = header.slice(0, headerSize);
  copy.fill(0, 16, 20);
  if (crc32(copy) !== u32le(header, 16)) return bad("header CRC is wrong");
  if (u64leBig(header, 24) !== 1n) return bad("header does not say it is at LBA 1");
  const sectors = BigInt(Math.floor(fileSize / sectorSize));
  const lastUsable = u64leBig(header, 48);
  const entriesLba = u64leBig(header, 72);
  const count = u32le(header, 80);
  const entrySize = u32le(header, 84);
  if (entrySize < 128 || entrySize % 128 !== 0) return bad(`entry size ${entrySize} is invalid`);
  const arrayBytes = count * entrySize;
  if (arrayBytes > MAX_ENTRY_ARRAY) return bad(`entry array of ${arrayBytes} bytes is too large`);
  if (entriesLba * BigInt(sectorSize) + BigInt(arrayBytes) > BigInt(fileSize))
    return bad("entry array lies past the end of the disk");
  if (lastUsable >= sectors)
    return bad(`last usable LBA ${lastUsable} is past the end of the disk (${sectors} sectors)`);

  let crc = 0;
  let used = 0;
  const outside: string[] = [];
  const arrayOffset = Number(entriesLba) * sectorSize;
  await readChunks(
    reader,
    arrayOffset,
    arrayBytes,
    Math.max(entrySize, ENTRY_CHUNK - (ENTRY_CHUNK % entrySize)),
    (chunk, position) => {
      crc = crc32(chunk, crc);
      // Stryker disable next-line ArithmeticOperator: chunks hold whole entries (the array lies inside the file), and past a chunk isZero reads zeros, so extra turns skip
      for (let at = 0; at + entrySize <= chunk.length; at += entrySize) {
        if (isZero(chunk, at, 16)) continue;
        used++;
        const first = u64leBig(chunk, at + 32);
        const last = u64leBig(chunk, at + 40);
        if (first > last || last >= sectors)
          outside.push(`entry ${(position + at) / entrySize + 1}: LBA ${first}..${last}`);
      }
    },
  );
  if (crc !== u32le(header, 88)) return bad("entry array CRC is wrong");
  if (outside.length > 0) return bad(`partitions lie outside the disk: ${outside.slice(0, MAX_REPORTED).join(", ")}`);
  return { problems: [], details: { sectorSize, partitions: used } };
}

async function detectPartition(reader: ImageReader): Promise<Detection | null> {
  const mbr = await readAt(reader, 0, MBR_SIZE);
  // Stryker disable next-line ConditionalExpression: a sector cut short has no byte 511, which u8 reads as 0, not 0xAA
  if (mbr.length < MBR_SIZE || u8(mbr, 510) !== 0x55 || u8(mbr, 511) !== 0xaa) return null;
  if (isBootSector(mbr)) return null;
  const entries = mbrEntries(mbr);
  if (entries.some((e) => e.status !== 0 && e.status !== 0x80)) return null;
  const fileSize = await reader.size();
  if (entries.some((e) => e.type === PROTECTIVE)) {
    const { problems, details } = await gptProblems(reader, fileSize);
    return { format: "raw", variant: "gpt", virtualSize: qemuLength(fileSize), problems, details };
  }
  const used = entries.filter((e) => e.type !== 0);
  return {
    format: "raw",
    variant: "mbr",
    virtualSize: qemuLength(fileSize),
    problems: mbrProblems(entries, Math.floor(fileSize / 512)),
    details: { partitions: used.length, types: used.map((e) => e.type) },
  };
}

/**
 * Detects a GPT or MBR partition table on a raw disk (qemu reads it as raw) and checks that
 * the table is sound: GPT header and entry CRCs, the entry array and every partition inside
 * the disk; MBR partitions inside the disk. A FAT/NTFS boot sector is not a partition table.
 *
 * @example
 * ```ts
 * const found = await partitionDetector.detect(reader, {});
 * found && `${found.format}:${found.variant}`; // "raw:gpt"
 * ```
 */
export const partitionDetector: Detector = { name: "partition", phase: "head", detect: detectPartition };
