import { crc32c, hex, isZero, matchAscii, problemOf, readAt, readChunks, u16le, u32le, u64leBig, type DetectContext, type Detection, type Detector, type ImageReader, type Problem } from "../../plugin-api.ts";

/**
 * The problem codes the vhdx detector reports besides the common `truncated` (stable;
 * scripts match on them):
 *   vhdx-corrupt-header  headers, log placement, region table, metadata, BAT; 4 KiB logical sectors
 *   vhdx-differencing    a VHDX with a parent
 *   vhdx-log             a VHDX log that would need replaying
 *
 * @example
 * ```ts
 * vhdxProblemCodes.includes("vhdx-corrupt-header"); // true
 * ```
 */
export const vhdxProblemCodes = ["vhdx-corrupt-header", "vhdx-differencing", "vhdx-log"] as const;

const problem = problemOf(vhdxProblemCodes);

const KiB = 1024;
const MiB = 1024 * KiB;
const HEADER_OFFSETS = [64 * KiB, 128 * KiB];
const HEADER_SIZE = 4 * KiB;
const REGION_TABLE_OFFSET = 192 * KiB;
const REGION_TABLE_SIZE = 64 * KiB;
const METADATA_TABLE_SIZE = 64 * KiB;
const MAX_ENTRIES = 2047;
const MAX_VIRTUAL_SIZE = 64 * MiB * MiB;
const SECTORS_PER_CHUNK = 2 ** 23;
/** 2 TiB in 1 MiB blocks; a larger table is left for qemu's own check. */
const MAX_BAT_SCAN = 16 * MiB;
const PAYLOAD_FULLY_PRESENT = 6n;

/** A GUID as it sits on disk: the first three fields little-endian. */
function guidHex(text: string): string {
  const [a, b, c, d, e] = text.toLowerCase().split("-") as [string, string, string, string, string];
  const swap = (s: string) => s.match(/../g)!.reverse().join("");
  return swap(a) + swap(b) + swap(c) + d + e;
}

const REGION = {
  bat: guidHex("2DC27766-F623-4200-9D64-115E9BFD4A08"),
  metadata: guidHex("8B7CA206-4790-4B9A-B8FE-575F050F886E"),
};
const ITEM = {
  fileParameters: guidHex("CAA16737-FA36-4D43-B3B6-33F0AA44E76B"),
  virtualDiskSize: guidHex("2FA54224-CD1B-4876-B211-5DBED83BF4B8"),
  page83: guidHex("BECA12AB-B2E6-4523-93EF-C309E000C746"),
  logicalSectorSize: guidHex("8141BF1D-A96F-4709-BA47-F233A8FAAB5F"),
  physicalSectorSize: guidHex("CDA348C7-445D-4471-9CC9-E9885251C556"),
  parentLocator: guidHex("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C"),
} as const;
type ItemName = keyof typeof ITEM;
const REQUIRED_ITEMS: ItemName[] = ["fileParameters", "virtualDiskSize", "page83", "logicalSectorSize", "physicalSectorSize"];

class Corrupt extends Error {}

function checksumOk(buf: Uint8Array): boolean {
  const copy = buf.slice();
  copy.fill(0, 4, 8);
  return crc32c(copy) === u32le(buf, 4);
}

/** qemu's choice: the valid header with the higher sequence number; equal numbers must mean equal headers. */
async function currentHeader(reader: ImageReader): Promise<Uint8Array> {
  const valid: { buf: Uint8Array; sequence: bigint }[] = [];
  for (const offset of HEADER_OFFSETS) {
    const buf = await readAt(reader, offset, HEADER_SIZE);
    if (buf.length === HEADER_SIZE && matchAscii(buf, 0, "head") && checksumOk(buf) && u16le(buf, 66) === 1) {
      valid.push({ buf, sequence: u64leBig(buf, 8) });
    }
  }
  if (valid.length === 0) throw new Corrupt("no valid header");
  if (valid.length === 2 && valid[0]!.sequence === valid[1]!.sequence && hex(valid[0]!.buf, 0, HEADER_SIZE) !== hex(valid[1]!.buf, 0, HEADER_SIZE)) {
    throw new Corrupt("two different headers have the same sequence number");
  }
  // Stryker disable next-line EqualityOperator: equal sequence numbers get here only on identical headers (different ones threw above), so either buffer is the same
  return valid.length === 2 && valid[1]!.sequence > valid[0]!.sequence ? valid[1]!.buf : valid[0]!.buf;
}

interface Region {
  offset: number;
  length: number;
}

/** qemu's log checks: placement in whole MiB, log version 0; the log region joins the overlap checks. */
function logRegion(header: Uint8Array): Region {
  const offset = Number(u64leBig(header, 72));
  const length = u32le(header, 68);
  if (offset < MiB || offset % MiB !== 0 || length % MiB !== 0 || !Number.isSafeInteger(offset + length)) throw new Corrupt("the log is misplaced");
  if (u16le(header, 64) !== 0) throw new Corrupt(`log version ${u16le(header, 64)} is not 0`);
  return { offset, length };
}

async function regions(reader: ImageReader, log: Region): Promise<{ bat: Region; metadata: Region }> {
  const buf = await readAt(reader, REGION_TABLE_OFFSET, REGION_TABLE_SIZE);
  if (buf.length < REGION_TABLE_SIZE || !matchAscii(buf, 0, "regi") || !checksumOk(buf)) throw new Corrupt("region table is invalid");
  const count = u32le(buf, 8);
  if (count > MAX_ENTRIES) throw new Corrupt(`region table has ${count} entries`);
  const found: Partial<Record<"bat" | "metadata", Region>> = {};
  // Stryker disable next-line ArrayDeclaration: an entry that is not a region has no offset, so it overlaps nothing, as the empty list does
  const all: Region[] = log.length > 0 ? [log] : [];
  for (let i = 0; i < count; i++) {
    const at = 16 + i * 32;
    const id = hex(buf, at, 16);
    const offset = Number(u64leBig(buf, at + 16));
    const length = u32le(buf, at + 24);
    const required = u32le(buf, at + 28) & 1;
    if (offset < MiB || offset % MiB !== 0 || length === 0 || length % MiB !== 0 || !Number.isSafeInteger(offset + length)) {
      throw new Corrupt("a region is misplaced");
    }
    if (all.some((r) => offset < r.offset + r.length && r.offset < offset + length)) throw new Corrupt("regions overlap");
    all.push({ offset, length });
    const name = id === REGION.bat ? "bat" : id === REGION.metadata ? "metadata" : undefined;
    if (name) {
      if (found[name]) throw new Corrupt(`the ${name} region appears twice`);
      found[name] = { offset, length };
    } else if (required) {
      throw new Corrupt(`an unknown required region ${id}`);
    }
  }
  if (!found.bat || !found.metadata) throw new Corrupt("the BAT or metadata region is missing");
  return { bat: found.bat, metadata: found.metadata };
}

interface Metadata {
  blockSize: number;
  hasParent: boolean;
  leaveBlocksAllocated: boolean;
  virtualDiskSize: bigint;
  logicalSectorSize: number;
  physicalSectorSize: number;
}

async function metadata(reader: ImageReader, region: Region): Promise<Metadata> {
  // Stryker disable next-line ConditionalExpression,EqualityOperator,StringLiteral: unreachable, regions() accepts only non-zero multiples of 1 MiB, never below 64 KiB
  if (region.length < METADATA_TABLE_SIZE) throw new Corrupt("metadata region is too small");
  const table = await readAt(reader, region.offset, METADATA_TABLE_SIZE);
  if (table.length < METADATA_TABLE_SIZE || !matchAscii(table, 0, "metadata")) throw new Corrupt("metadata table is invalid");
  const count = u16le(table, 10);
  if (count > MAX_ENTRIES) throw new Corrupt(`metadata table has ${count} entries`);
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
      if (required) throw new Corrupt(`unknown required metadata item ${id}`);
      continue;
    }
    if (items[name]) throw new Corrupt(`metadata item ${name} appears twice`);
    if (offset < METADATA_TABLE_SIZE || offset + length > region.length) throw new Corrupt(`metadata item ${name} lies outside its region`);
    items[name] = await readAt(reader, region.offset + offset, Math.min(length, 64));
  }
  for (const name of REQUIRED_ITEMS) {
    if ((items[name]?.length ?? 0) < (name === "virtualDiskSize" ? 8 : name === "page83" ? 16 : 4)) throw new Corrupt(`metadata item ${name} is missing`);
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

/** BAT entries qemu expects: payload blocks, with one sector-bitmap entry after every chunk. */
function batLayout(m: Metadata): { entries: bigint; chunkRatio: bigint } {
  const block = BigInt(m.blockSize);
  const chunkRatio = (BigInt(SECTORS_PER_CHUNK) * BigInt(m.logicalSectorSize)) / block;
  const dataBlocks = (m.virtualDiskSize + block - 1n) / block;
  const entries = m.hasParent
    ? ((dataBlocks + chunkRatio - 1n) / chunkRatio) * (chunkRatio + 1n)
    : dataBlocks + (dataBlocks - 1n) / chunkRatio;
  return { entries, chunkRatio };
}

function metadataProblems(m: Metadata, bat: Region): string[] {
  const out: string[] = [];
  // Stryker disable next-line ConditionalExpression,EqualityOperator: power() is only asked about block sizes already found to be at least 1 MiB, so n > 0 always holds
  const power = (n: number) => n > 0 && (n & (n - 1)) === 0;
  if (m.blockSize < MiB || m.blockSize > 256 * MiB || !power(m.blockSize)) out.push(`block size ${m.blockSize} is invalid`);
  // The format allows 4096, but qemu 7.2 refuses it (ENOTSUP).
  if (m.logicalSectorSize !== 512) out.push(`logical sector size ${m.logicalSectorSize} is not 512 (the only one qemu-img reads)`);
  if (m.physicalSectorSize !== 512 && m.physicalSectorSize !== 4096) out.push(`physical sector size ${m.physicalSectorSize} is invalid`);
  if (m.virtualDiskSize === 0n) out.push("virtual disk size is 0");
  if (m.virtualDiskSize > BigInt(MAX_VIRTUAL_SIZE)) out.push("virtual disk size is above 64 TiB");
  if (out.length === 0 && batLayout(m).entries * 8n > BigInt(bat.length)) out.push("the BAT region is too small for the disk");
  return out;
}

/**
 * Like qemu, checks that every fully present payload block lies inside the file and outside
 * the log, BAT and metadata regions. Streams the table; larger tables than this are left to qemu.
 */
async function batProblems(reader: ImageReader, m: Metadata, bat: Region, taken: Region[], fileSize: number): Promise<Problem[]> {
  const { entries, chunkRatio } = batLayout(m);
  if (entries * 8n > BigInt(MAX_BAT_SCAN)) return [];
  const ratio = Number(chunkRatio);
  const out: Problem[] = [];
  await readChunks(reader, bat.offset, Number(entries) * 8, 64 * KiB, (chunk, position) => {
    // Stryker disable next-line ArithmeticOperator: reading on past the chunk's end yields 0n entries, unallocated and skipped, so the bound's exact value changes nothing
    for (let at = 0; at + 8 <= chunk.length && out.length === 0; at += 8) {
      const index = (position + at) / 8;
      const isBitmapEntry = index % (ratio + 1) === ratio;
      const entry = u64leBig(chunk, at);
      if (isBitmapEntry || (entry & 7n) !== PAYLOAD_FULLY_PRESENT) continue;
      const offset = Number(entry & ~0xfffffn);
      const end = offset + m.blockSize;
      if (end > fileSize) out.push(problem("truncated", `VHDX is truncated: block ${index} lies past the end of the file`));
      else if (offset < MiB || taken.some((r) => offset < r.offset + r.length && r.offset < end)) {
        out.push(problem("vhdx-corrupt-header", `VHDX is corrupt: block ${index} overlaps the headers or a region`));
      }
    }
  });
  return out;
}

async function detectVhdx(reader: ImageReader, context: DetectContext): Promise<Detection | null> {
  const id = await readAt(reader, 0, 8);
  if (!matchAscii(id, 0, "vhdxfile")) return null;
  const problems: Problem[] = [];
  const details: Record<string, unknown> = {};
  let virtualSize: number | undefined;
  let variant: string | undefined;
  try {
    const header = await currentHeader(reader);
    const log = logRegion(header);
    if (!isZero(header, 48, 16) && log.length > 0) problems.push(problem("vhdx-log", "VHDX has a log to replay, which needs write access to the image"));
    const { bat, metadata: metadataRegion } = await regions(reader, log);
    const m = await metadata(reader, metadataRegion);
    const bad = metadataProblems(m, bat);
    if (bad.length > 0) throw new Corrupt(bad.join("; "));
    variant = m.hasParent ? "differencing" : m.leaveBlocksAllocated ? "fixed" : "dynamic";
    if (m.hasParent) problems.push(problem("vhdx-differencing", "VHDX is a differencing disk: its data depends on a parent file"));
    virtualSize = Number(m.virtualDiskSize / 512n) * 512;
    Object.assign(details, { blockSize: m.blockSize, logicalSectorSize: m.logicalSectorSize, physicalSectorSize: m.physicalSectorSize });
    if (Number(m.virtualDiskSize) !== virtualSize) details.declaredSize = Number(m.virtualDiskSize);
    context.onHeader?.({ format: "vhdx", virtualSize, details: { ...details, logLength: log.length } });
    if (problems.length === 0) {
      const fileSize = await reader.size();
      if (bat.offset + bat.length > fileSize || metadataRegion.offset + metadataRegion.length > fileSize) {
        problems.push(problem("truncated", "VHDX is truncated: a region lies past the end of the file"));
      } else {
        problems.push(...(await batProblems(reader, m, bat, [log, bat, metadataRegion], fileSize)));
      }
    }
  } catch (error) {
    if (!(error instanceof Corrupt)) throw error;
    problems.push(problem("vhdx-corrupt-header", `VHDX is corrupt: ${error.message}`));
  }
  return { format: "vhdx", variant, virtualSize, problems, details };
}

/**
 * Detects VHDX: validates the headers and region table (CRC-32C), reads the Virtual Disk Size
 * and sector sizes from the metadata region, and rejects differencing disks, images with a log
 * to replay, and 4 KiB logical sectors (valid VHDX, but qemu 7.2 refuses them). Virtual size
 * is qemu's: the Virtual Disk Size rounded down to 512 bytes.
 *
 * @example
 * ```ts
 * const found = await vhdxDetector.detect(reader, {});
 * found?.virtualSize; // 10737418240
 * ```
 */
export const vhdxDetector: Detector = { name: "vhdx", phase: "head", detect: detectVhdx };
