import {
  matchAscii,
  printable,
  problemOf,
  readAt,
  readChunks,
  readVhdDynamicHeader,
  readVhdFooter,
  u32be,
  VHD_DYNAMIC_HEADER_SIZE,
  VHD_FOOTER_SIZE,
  vhdChecksum,
  type DetectContext,
  type Detection,
  type Detector,
  type ImageReader,
  type Problem,
  type VhdFooterFields,
} from "../../plugin-api.ts";

/**
 * The problem codes the vhd detector reports besides the common `truncated` (stable;
 * scripts match on them):
 *   vhd-checksum        footer or dynamic header checksum wrong
 *   vhd-differencing    a differencing VHD outside a chain container
 *   vhd-corrupt-header  disk type, footer copies, dynamic header, block table
 *
 * @example
 * ```ts
 * vhdProblemCodes.includes("vhd-checksum"); // true
 * ```
 */
export const vhdProblemCodes = ["vhd-checksum", "vhd-differencing", "vhd-corrupt-header"] as const;

const problem = problemOf(vhdProblemCodes);

const SECTOR = 512;
const FOOTER_SIZE = VHD_FOOTER_SIZE;
const DYN_HEADER_SIZE = VHD_DYNAMIC_HEADER_SIZE;
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

/** qemu 7.2's rule: CHS geometry unless the creator is known to use current_size, or the geometry is the maximum. */
function virtualSectors(f: VhdFooterFields): { sectors: bigint; rule: "chs" | "current-size" } {
  const chs = f.cylinders * f.heads * f.sectorsPerTrack;
  if (!SIZE_CREATORS.has(f.creator) && chs !== MAX_GEOMETRY) return { sectors: BigInt(chs), rule: "chs" };
  return { sectors: f.currentSize / BigInt(SECTOR), rule: "current-size" };
}

function sameFooter(a: VhdFooterFields, b: VhdFooterFields): boolean {
  return (
    a.type === b.type &&
    a.currentSize === b.currentSize &&
    a.cylinders === b.cylinders &&
    a.heads === b.heads &&
    a.sectorsPerTrack === b.sectorsPerTrack &&
    a.creator === b.creator &&
    a.dataOffset === b.dataOffset &&
    a.uniqueId === b.uniqueId
  );
}

interface DynamicInfo {
  problems: Problem[];
  details: Record<string, unknown>;
}

/** Checks the dynamic disk header and, like qemu, that no BAT entry points past the end of the file. */
async function dynamicHeader(
  reader: ImageReader,
  footer: VhdFooterFields,
  sectors: bigint,
  fileSize: number,
): Promise<DynamicInfo> {
  const broken = (why: string) => problem("vhd-corrupt-header", `VHD dynamic header is corrupt: ${why}`);
  const corrupt = (why: string): DynamicInfo => ({ problems: [broken(why)], details: {} });
  const offset = footer.dataOffset;
  if (offset < BigInt(FOOTER_SIZE) || offset > BigInt(Number.MAX_SAFE_INTEGER)) return corrupt("its offset is invalid");
  if (offset + BigInt(DYN_HEADER_SIZE) > BigInt(fileSize)) {
    return { problems: [problem("truncated", "VHD is truncated: the dynamic header lies past the end")], details: {} };
  }
  const buf = await readAt(reader, Number(offset), DYN_HEADER_SIZE);
  const header = readVhdDynamicHeader(buf);
  if (!header.cookie) return corrupt("no cxsparse cookie");
  const problems: Problem[] = [];
  if (vhdChecksum(buf, 36) !== header.checksum)
    problems.push(problem("vhd-checksum", "VHD dynamic header checksum is wrong"));
  const { tableOffset, maxTableEntries: entries, blockSize } = header;
  const details: Record<string, unknown> = { blockSize, batEntries: entries };
  if (footer.type === 4) {
    details.parentName = printable(header.parentName, 120);
    details.parentUuid = header.parentId;
  }
  if (blockSize < SECTOR || (blockSize & (blockSize - 1)) !== 0)
    return { ...corrupt(`block size ${blockSize} is invalid`), details };
  const block = BigInt(blockSize);
  // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: unreachable, sectors are at most 0xff000000 here (larger disks are refused first) and blocks at least 512 bytes
  if ((sectors * BigInt(SECTOR)) / block > 0xffffffffn) problems.push(broken("too many blocks"));
  if (BigInt(entries) > (BigInt(MAX_SECTORS) * BigInt(SECTOR)) / block)
    problems.push(broken("block table is too large"));
  else if (BigInt(entries) * block < sectors * BigInt(SECTOR))
    problems.push(broken("block table is too small for the disk"));
  if (entries * 4 > MAX_BAT_BYTES) problems.push(broken(`block table of ${entries} entries is too large`));
  if (tableOffset / BigInt(SECTOR) > BigInt(INT32_MAX)) problems.push(broken("block table offset is invalid"));
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
  else if (end > fileSize)
    problems.push(problem("truncated", "VHD is truncated: a block lies past the end of the file"));
  return { problems, details };
}

async function detectVhd(reader: ImageReader, context: DetectContext): Promise<Detection | null> {
  const fileSize = await reader.size();
  const head = await readAt(reader, 0, FOOTER_SIZE);
  // qemu's probe looks for the cookie at offset 0 alone, however short the file.
  if (fileSize < FOOTER_SIZE) {
    return matchAscii(head, 0, "conectix")
      ? { format: "vhd", problems: [problem("truncated", "VHD is truncated: the file is shorter than a footer")] }
      : null;
  }
  const tail = await readAt(reader, fileSize - FOOTER_SIZE, FOOTER_SIZE);
  const headFooter = readVhdFooter(head);
  const tailFooter = readVhdFooter(tail);
  // Stryker disable next-line ConditionalExpression: the file is at least a footer long here, so both 512-byte reads are whole
  const atHead = head.length === FOOTER_SIZE && headFooter.cookie;
  // Stryker disable next-line ConditionalExpression: as above
  const atTail = tail.length === FOOTER_SIZE && tailFooter.cookie;
  if (!atHead && !atTail) return null;

  // qemu uses the copy at offset 0 when there is one (dynamic and differencing disks).
  const primary = atHead ? headFooter : tailFooter;
  const problems: Problem[] = [];
  const corrupt = (why: string) => problem("vhd-corrupt-header", `VHD footer is corrupt: ${why}`);
  if (atHead && vhdChecksum(head, 64) !== primary.checksum)
    problems.push(problem("vhd-checksum", "VHD footer copy at offset 0 has a wrong checksum"));
  if (atTail && vhdChecksum(tail, 64) !== tailFooter.checksum)
    problems.push(problem("vhd-checksum", "VHD footer has a wrong checksum"));
  if (atHead && !atTail) problems.push(problem("truncated", "VHD is truncated: the footer at the end is missing"));
  // Stryker disable next-line ConditionalExpression,EqualityOperator: in a 512-byte file the head and the tail are the same bytes, so comparing them finds no difference
  if (atHead && atTail && fileSize > FOOTER_SIZE && !sameFooter(primary, tailFooter))
    problems.push(corrupt("the two footer copies differ"));

  const variant = TYPES[primary.type];
  if (!variant) problems.push(corrupt(`disk type ${primary.type} is not fixed, dynamic or differencing`));
  else if (atHead && primary.type === 2) problems.push(corrupt("a fixed disk has a footer copy at offset 0"));
  else if (!atHead && primary.type !== 2) problems.push(corrupt(`a ${variant} disk has no footer copy at offset 0`));
  if (primary.type === 4 && !context.inChainContainer) {
    problems.push(
      problem(
        "vhd-differencing",
        "VHD is a differencing disk outside a chain container: its data depends on a parent file",
      ),
    );
  }

  const { sectors, rule } = virtualSectors(primary);
  if (sectors > BigInt(MAX_SECTORS)) problems.push(corrupt("the disk is larger than 2040 GiB"));
  const virtualSize = sectors <= BigInt(MAX_SECTORS) ? Number(sectors) * SECTOR : undefined;
  const details: Record<string, unknown> = {
    diskType: variant ?? primary.type,
    creator: printable(primary.creator.replace(/\0/g, " ")),
    sizeRule: rule,
    currentSize: primary.currentSize <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(primary.currentSize) : undefined,
    uuid: primary.uniqueId,
  };

  if (
    problems.length === 0 &&
    primary.type === 2 &&
    virtualSize !== undefined &&
    virtualSize + FOOTER_SIZE > fileSize
  ) {
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
