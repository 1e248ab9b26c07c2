import {
  crc32c,
  hex,
  isZero,
  matchAscii,
  problemOf,
  readAt,
  readChunks,
  u16le,
  u32le,
  u64leBig,
  type DetectContext,
  type Detection,
  type Detector,
  type ImageReader,
  type Problem,
} from "../../plugin-api.ts";
import {
  VhdxCorrupt,
  batLayout,
  guidHex,
  metadataProblems,
  readMetadata,
  type Metadata,
  type Region,
} from "./metadata.ts";

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
const MAX_ENTRIES = 2047;
/** 2 TiB in 1 MiB blocks; a larger table is left for qemu's own check. */
const MAX_BAT_SCAN = 16 * MiB;
const PAYLOAD_FULLY_PRESENT = 6n;

const REGION = {
  bat: guidHex("2DC27766-F623-4200-9D64-115E9BFD4A08"),
  metadata: guidHex("8B7CA206-4790-4B9A-B8FE-575F050F886E"),
};

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
  const [first, second] = valid;
  if (!first) throw new VhdxCorrupt("no valid header");
  if (!second) return first.buf;
  if (first.sequence === second.sequence && hex(first.buf, 0, HEADER_SIZE) !== hex(second.buf, 0, HEADER_SIZE)) {
    throw new VhdxCorrupt("two different headers have the same sequence number");
  }
  // Stryker disable next-line EqualityOperator: equal sequence numbers get here only on identical headers (different ones threw above), so either buffer is the same
  return second.sequence > first.sequence ? second.buf : first.buf;
}

/** qemu's log checks: placement in whole MiB, log version 0; the log region joins the overlap checks. */
function logRegion(header: Uint8Array): Region {
  const offset = Number(u64leBig(header, 72));
  const length = u32le(header, 68);
  if (offset < MiB || offset % MiB !== 0 || length % MiB !== 0 || !Number.isSafeInteger(offset + length))
    throw new VhdxCorrupt("the log is misplaced");
  if (u16le(header, 64) !== 0) throw new VhdxCorrupt(`log version ${u16le(header, 64)} is not 0`);
  return { offset, length };
}

async function regions(reader: ImageReader, log: Region): Promise<{ bat: Region; metadata: Region }> {
  const buf = await readAt(reader, REGION_TABLE_OFFSET, REGION_TABLE_SIZE);
  if (buf.length < REGION_TABLE_SIZE || !matchAscii(buf, 0, "regi") || !checksumOk(buf))
    throw new VhdxCorrupt("region table is invalid");
  const count = u32le(buf, 8);
  if (count > MAX_ENTRIES) throw new VhdxCorrupt(`region table has ${count} entries`);
  const found: Partial<Record<"bat" | "metadata", Region>> = {};
  // Stryker disable next-line ArrayDeclaration: an entry that is not a region has no offset, so it overlaps nothing, as the empty list does
  const all: Region[] = log.length > 0 ? [log] : [];
  for (let i = 0; i < count; i++) {
    const at = 16 + i * 32;
    const id = hex(buf, at, 16);
    const offset = Number(u64leBig(buf, at + 16));
    const length = u32le(buf, at + 24);
    const required = u32le(buf, at + 28) & 1;
    if (
      offset < MiB ||
      offset % MiB !== 0 ||
      length === 0 ||
      length % MiB !== 0 ||
      !Number.isSafeInteger(offset + length)
    ) {
      throw new VhdxCorrupt("a region is misplaced");
    }
    if (all.some((r) => offset < r.offset + r.length && r.offset < offset + length))
      throw new VhdxCorrupt("regions overlap");
    all.push({ offset, length });
    const name = id === REGION.bat ? "bat" : id === REGION.metadata ? "metadata" : undefined;
    if (name) {
      if (found[name]) throw new VhdxCorrupt(`the ${name} region appears twice`);
      found[name] = { offset, length };
    } else if (required) {
      throw new VhdxCorrupt(`an unknown required region ${id}`);
    }
  }
  if (!found.bat || !found.metadata) throw new VhdxCorrupt("the BAT or metadata region is missing");
  return { bat: found.bat, metadata: found.metadata };
}

/**
 * Like qemu, checks that every fully present payload block lies inside the file and outside
 * the log, BAT and metadata regions. Streams the table; larger tables than this are left to qemu.
 */
async function batProblems(
  reader: ImageReader,
  m: Metadata,
  bat: Region,
  taken: Region[],
  fileSize: number,
): Promise<Problem[]> {
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
      if (end > fileSize)
        out.push(problem("truncated", `VHDX is truncated: block ${index} lies past the end of the file`));
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
    if (!isZero(header, 48, 16) && log.length > 0)
      problems.push(problem("vhdx-log", "VHDX has a log to replay, which needs write access to the image"));
    const { bat, metadata: metadataRegion } = await regions(reader, log);
    const m = await readMetadata(reader, metadataRegion);
    const bad = metadataProblems(m, bat);
    if (bad.length > 0) throw new VhdxCorrupt(bad.join("; "));
    variant = m.hasParent ? "differencing" : m.leaveBlocksAllocated ? "fixed" : "dynamic";
    if (m.hasParent)
      problems.push(problem("vhdx-differencing", "VHDX is a differencing disk: its data depends on a parent file"));
    virtualSize = Number(m.virtualDiskSize / 512n) * 512;
    Object.assign(details, {
      blockSize: m.blockSize,
      logicalSectorSize: m.logicalSectorSize,
      physicalSectorSize: m.physicalSectorSize,
    });
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
    if (!(error instanceof VhdxCorrupt)) throw error;
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
