import type { Problem } from "../errors.ts";
import type { ImageReader } from "../io/reader.ts";
import { hex, matchAscii, printable, u16be, u32be, u64beBig, u8 } from "./bytes.ts";
import { problem } from "./problem.ts";
import { readAt, readChunks } from "./region.ts";
import type { DetectContext, Detection, Detector } from "./types.ts";

const SECTOR = 512;
const FOOTER_SIZE = 512;
const DYN_HEADER_SIZE = 1024;
const TYPES: Record<number, string> = { 2: "fixed", 3: "dynamic", 4: "differencing" };
/** Creator apps whose size qemu 7.2 takes from current_size; every other creator gets CHS geometry. */
const SIZE_CREATORS = new Set(["win ", "qem2", "d2v ", "CTXS", "tap\0"]);
const MAX_GEOMETRY = 65535 * 16 * 255;
/** qemu's VHD_MAX_SECTORS: 2040 GiB. */
const MAX_SECTORS = 0xff000000;
/** 2040 GiB in 512 KiB blocks: larger tables are refused rather than scanned. */
const MAX_BAT_BYTES = 16 * 1024 * 1024;
const BAT_CHUNK = 64 * 1024;
const UNALLOCATED = 0xffffffff;
const INT32_MAX = 2 ** 31 - 1;

interface Footer {
  dataOffset: bigint;
  creator: string;
  currentSize: bigint;
  cylinders: number;
  heads: number;
  sectorsPerTrack: number;
  type: number;
  checksum: number;
  uuid: string;
}

function parseFooter(buf: Uint8Array): Footer {
  return {
    dataOffset: u64beBig(buf, 16),
    creator: String.fromCharCode(...buf.subarray(28, 32)),
    currentSize: u64beBig(buf, 48),
    cylinders: u16be(buf, 56),
    heads: u8(buf, 58),
    sectorsPerTrack: u8(buf, 59),
    type: u32be(buf, 60),
    checksum: u32be(buf, 64),
    uuid: hex(buf, 68, 16),
  };
}

/** One's complement of the byte sum, with the checksum field counted as zero. */
function vhdChecksum(buf: Uint8Array, checksumAt: number): number {
  let sum = 0;
  for (let i = 0; i < buf.length; i++) if (i < checksumAt || i >= checksumAt + 4) sum += buf[i]!;
  return ~sum >>> 0;
}

/** qemu 7.2's rule: CHS geometry unless the creator is known to use current_size, or the geometry is the maximum. */
function virtualSectors(f: Footer): { sectors: bigint; rule: "chs" | "current-size" } {
  const chs = f.cylinders * f.heads * f.sectorsPerTrack;
  if (!SIZE_CREATORS.has(f.creator) && chs !== MAX_GEOMETRY) return { sectors: BigInt(chs), rule: "chs" };
  return { sectors: f.currentSize / BigInt(SECTOR), rule: "current-size" };
}

function sameFooter(a: Footer, b: Footer): boolean {
  return (
    a.type === b.type &&
    a.currentSize === b.currentSize &&
    a.cylinders === b.cylinders &&
    a.heads === b.heads &&
    a.sectorsPerTrack === b.sectorsPerTrack &&
    a.creator === b.creator &&
    a.dataOffset === b.dataOffset &&
    a.uuid === b.uuid
  );
}

function utf16be(buf: Uint8Array, offset: number, length: number): string {
  let out = "";
  // Stryker disable next-line EqualityOperator,ArithmeticOperator,MethodExpression: a name without a NUL has 256 characters, and printable() keeps 120, so reading on past the field changes nothing
  for (let i = offset; i + 1 < Math.min(buf.length, offset + length); i += 2) {
    const code = u16be(buf, i);
    if (code === 0) break;
    out += String.fromCharCode(code);
  }
  return printable(out, 120);
}

interface DynamicInfo {
  problems: Problem[];
  details: Record<string, unknown>;
}

/** Checks the dynamic disk header and, like qemu, that no BAT entry points past the end of the file. */
async function dynamicHeader(reader: ImageReader, footer: Footer, sectors: bigint, fileSize: number): Promise<DynamicInfo> {
  const corrupt = (why: string): DynamicInfo => ({ problems: [problem("vhd-corrupt-header", `VHD dynamic header is corrupt: ${why}`)], details: {} });
  const offset = footer.dataOffset;
  if (offset < BigInt(FOOTER_SIZE) || offset > BigInt(Number.MAX_SAFE_INTEGER)) return corrupt("its offset is invalid");
  if (offset + BigInt(DYN_HEADER_SIZE) > BigInt(fileSize)) {
    return { problems: [problem("truncated", "VHD is truncated: the dynamic header lies past the end")], details: {} };
  }
  const buf = await readAt(reader, Number(offset), DYN_HEADER_SIZE);
  if (!matchAscii(buf, 0, "cxsparse")) return corrupt("no cxsparse cookie");
  const problems: Problem[] = [];
  if (vhdChecksum(buf, 36) !== u32be(buf, 36)) problems.push(problem("vhd-checksum", "VHD dynamic header checksum is wrong"));
  const tableOffset = u64beBig(buf, 16);
  const entries = u32be(buf, 28);
  const blockSize = u32be(buf, 32);
  const details: Record<string, unknown> = { blockSize, batEntries: entries };
  if (footer.type === 4) {
    details.parentName = utf16be(buf, 64, 512);
    details.parentUuid = hex(buf, 40, 16);
  }
  if (blockSize < SECTOR || (blockSize & (blockSize - 1)) !== 0) return { ...corrupt(`block size ${blockSize} is invalid`), details };
  const block = BigInt(blockSize);
  // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: unreachable, sectors are at most 0xff000000 here (larger disks are refused first) and blocks at least 512 bytes
  if ((sectors * BigInt(SECTOR)) / block > 0xffffffffn) problems.push(corrupt("too many blocks").problems[0]!);
  if (BigInt(entries) > (BigInt(MAX_SECTORS) * BigInt(SECTOR)) / block) problems.push(corrupt("block table is too large").problems[0]!);
  else if (BigInt(entries) * block < sectors * BigInt(SECTOR)) problems.push(corrupt("block table is too small for the disk").problems[0]!);
  if (entries * 4 > MAX_BAT_BYTES) problems.push(corrupt(`block table of ${entries} entries is too large`).problems[0]!);
  if (tableOffset / BigInt(SECTOR) > BigInt(INT32_MAX)) problems.push(corrupt("block table offset is invalid").problems[0]!);
  if (problems.length > 0) return { problems, details };

  const batOffset = Number(tableOffset);
  const batBytes = entries * 4;
  const bitmapSize = Math.ceil(blockSize / (8 * SECTOR) / SECTOR) * SECTOR;
  let end = Math.ceil((batOffset + batBytes) / SECTOR) * SECTOR;
  const read = await readChunks(reader, batOffset, batBytes, BAT_CHUNK, (chunk) => {
    for (let i = 0; i + 4 <= chunk.length; i += 4) {
      const entry = u32be(chunk, i);
      if (entry !== UNALLOCATED) end = Math.max(end, entry * SECTOR + bitmapSize + blockSize);
    }
  });
  if (read < batBytes) problems.push(problem("truncated", "VHD is truncated: the block table lies past the end"));
  else if (end > fileSize) problems.push(problem("truncated", "VHD is truncated: a block lies past the end of the file"));
  return { problems, details };
}

async function detectVhd(reader: ImageReader, context: DetectContext): Promise<Detection | null> {
  const fileSize = await reader.size();
  const head = await readAt(reader, 0, FOOTER_SIZE);
  // qemu's probe looks for the cookie at offset 0 alone, however short the file.
  if (fileSize < FOOTER_SIZE) {
    return matchAscii(head, 0, "conectix") ? { format: "vhd", problems: [problem("truncated", "VHD is truncated: the file is shorter than a footer")] } : null;
  }
  const tail = await readAt(reader, fileSize - FOOTER_SIZE, FOOTER_SIZE);
  // Stryker disable next-line ConditionalExpression: the file is at least a footer long here, so both 512-byte reads are whole
  const atHead = head.length === FOOTER_SIZE && matchAscii(head, 0, "conectix");
  // Stryker disable next-line ConditionalExpression: as above
  const atTail = tail.length === FOOTER_SIZE && matchAscii(tail, 0, "conectix");
  if (!atHead && !atTail) return null;

  // qemu uses the copy at offset 0 when there is one (dynamic and differencing disks).
  const primary = parseFooter(atHead ? head : tail);
  const problems: Problem[] = [];
  const corrupt = (why: string) => problem("vhd-corrupt-header", `VHD footer is corrupt: ${why}`);
  if (atHead && vhdChecksum(head, 64) !== primary.checksum) problems.push(problem("vhd-checksum", "VHD footer copy at offset 0 has a wrong checksum"));
  if (atTail && vhdChecksum(tail, 64) !== u32be(tail, 64)) problems.push(problem("vhd-checksum", "VHD footer has a wrong checksum"));
  if (atHead && !atTail) problems.push(problem("truncated", "VHD is truncated: the footer at the end is missing"));
  // Stryker disable next-line ConditionalExpression,EqualityOperator: in a 512-byte file the head and the tail are the same bytes, so comparing them finds no difference
  if (atHead && atTail && fileSize > FOOTER_SIZE && !sameFooter(primary, parseFooter(tail))) problems.push(corrupt("the two footer copies differ"));

  const variant = TYPES[primary.type];
  if (!variant) problems.push(corrupt(`disk type ${primary.type} is not fixed, dynamic or differencing`));
  else if (atHead && primary.type === 2) problems.push(corrupt("a fixed disk has a footer copy at offset 0"));
  else if (!atHead && primary.type !== 2) problems.push(corrupt(`a ${variant} disk has no footer copy at offset 0`));
  if (primary.type === 4 && !context.inChainContainer) {
    problems.push(problem("vhd-differencing", "VHD is a differencing disk outside a chain container: its data depends on a parent file"));
  }

  const { sectors, rule } = virtualSectors(primary);
  if (sectors > BigInt(MAX_SECTORS)) problems.push(corrupt("the disk is larger than 2040 GiB"));
  const virtualSize = sectors <= BigInt(MAX_SECTORS) ? Number(sectors) * SECTOR : undefined;
  const details: Record<string, unknown> = {
    diskType: variant ?? primary.type,
    creator: printable(primary.creator.replace(/\0/g, " ")),
    sizeRule: rule,
    currentSize: primary.currentSize <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(primary.currentSize) : undefined,
    uuid: primary.uuid,
  };

  if (problems.length === 0 && primary.type === 2 && virtualSize !== undefined && virtualSize + FOOTER_SIZE > fileSize) {
    problems.push(problem("truncated", "VHD is truncated: the fixed disk is shorter than its size"));
  }
  if (problems.length === 0 && (primary.type === 3 || primary.type === 4)) {
    const dynamic = await dynamicHeader(reader, primary, sectors, fileSize);
    problems.push(...dynamic.problems);
    Object.assign(details, dynamic.details);
  }
  return { format: "vhd", variant, virtualSize, problems, details };
}

/**
 * Detects VHD (qemu's `vpc`) from the footer at the end or its copy at offset 0, checks the
 * footer and dynamic header checksums and tables, and rejects differencing disks unless the
 * image comes from a chain container. Virtual size follows qemu 7.2: CHS geometry for most
 * creators, current_size for Hyper-V (`win `), disk2vhd (`d2v `), XenServer (`tap\0`,
 * `CTXS`) and qemu's `qem2`, or when the geometry is the maximum 65535/16/255.
 *
 * @example
 * ```ts
 * const found = await vhdDetector.detect(reader, { inChainContainer: false });
 * found?.details?.sizeRule; // "chs"
 * ```
 */
export const vhdDetector: Detector = { name: "vhd", phase: "tail", detect: detectVhd };
