import {
  asciiField,
  isZero,
  problemOf,
  readAt,
  u32le,
  u64leBig,
  type DetectContext,
  type Detection,
  type Detector,
  type ImageReader,
  type Problem,
} from "../../plugin-api.ts";

/**
 * The problem codes the vdi detector reports besides the common `truncated` (stable;
 * scripts match on them):
 *   vdi-corrupt-header  version, offsets, block size, parent/link UUIDs
 *
 * @example
 * ```ts
 * vdiProblemCodes.includes("vdi-corrupt-header"); // true
 * ```
 */
export const vdiProblemCodes = ["vdi-corrupt-header"] as const;

const problem = problemOf(vdiProblemCodes);

const SIGNATURE = 0xbeda107f;
const VERSION_1_1 = 0x00010001;
const SECTOR = 512;
const BLOCK_SIZE = 1024 * 1024;
const HEADER_BYTES = 0x1c8;
const TYPES: Record<number, string> = { 1: "dynamic", 2: "fixed" };
/** qemu's VDI_BLOCKS_IN_IMAGE_MAX. */
const MAX_BLOCKS = Math.floor(0xffffffff / 4);

function headerProblems(head: Uint8Array): Problem[] {
  const corrupt = (why: string) => problem("vdi-corrupt-header", `VDI header is corrupt: ${why}`);
  const out: Problem[] = [];
  const version = u32le(head, 0x44);
  if (version !== VERSION_1_1) return [corrupt(`version ${version.toString(16)} is not 1.1`)];
  const type = u32le(head, 0x4c);
  const bitmapOffset = u32le(head, 0x154);
  const dataOffset = u32le(head, 0x158);
  const sectorSize = u32le(head, 0x168);
  const diskSize = u64leBig(head, 0x170);
  const blockSize = u32le(head, 0x178);
  const blocks = u32le(head, 0x180);
  if (!TYPES[type]) out.push(corrupt(`image type ${type} is not dynamic or fixed`));
  if (bitmapOffset % SECTOR !== 0 || dataOffset % SECTOR !== 0)
    out.push(corrupt("block map or data offset is not sector aligned"));
  if (sectorSize !== SECTOR) out.push(corrupt(`sector size ${sectorSize} is not 512`));
  if (blockSize !== BLOCK_SIZE) out.push(corrupt(`block size ${blockSize} is not 1 MiB`));
  if (blocks > MAX_BLOCKS) out.push(corrupt(`${blocks} blocks is too many`));
  else if (diskSize > BigInt(blocks) * BigInt(BLOCK_SIZE)) out.push(corrupt("disk size exceeds the block map"));
  else if (BigInt(blocks) > (diskSize + BigInt(BLOCK_SIZE) - 1n) / BigInt(BLOCK_SIZE))
    out.push(corrupt("block map is larger than the disk"));
  if (bitmapOffset < HEADER_BYTES || dataOffset < bitmapOffset + blocks * 4)
    out.push(corrupt("block map overlaps the header or the data"));
  if (!isZero(head, 0x1a8, 16)) out.push(corrupt("it has a link UUID"));
  if (!isZero(head, 0x1b8, 16)) out.push(corrupt("it has a parent UUID (a differencing image)"));
  return out;
}

async function detectVdi(reader: ImageReader, context: DetectContext): Promise<Detection | null> {
  const head = await readAt(reader, 0, 512);
  if (u32le(head, 0x40) !== SIGNATURE) return null;
  if (head.length < HEADER_BYTES) return { format: "vdi", problems: [problem("truncated", "VDI header is truncated")] };
  const problems = headerProblems(head);
  const diskSize = u64leBig(head, 0x170);
  // qemu rounds odd sizes (from VBoxManage convertfromraw) down to whole sectors.
  const virtualSize =
    diskSize <= BigInt(Number.MAX_SAFE_INTEGER) ? Math.floor(Number(diskSize) / SECTOR) * SECTOR : undefined;
  const details = {
    description: asciiField(head, 0, 64).trim(),
    blocks: u32le(head, 0x180),
    blocksAllocated: u32le(head, 0x184),
  };
  if (virtualSize !== undefined) context.onHeader?.({ format: "vdi", virtualSize, details });
  if (problems.length === 0) {
    const fileSize = await reader.size();
    const mapEnd = u32le(head, 0x154) + u32le(head, 0x180) * 4;
    if (mapEnd > fileSize)
      problems.push(problem("truncated", "VDI is truncated: the block map lies past the end of the file"));
  }
  return {
    format: "vdi",
    variant: TYPES[u32le(head, 0x4c)],
    virtualSize,
    problems,
    details,
  };
}

/**
 * Detects VirtualBox VDI (version 1.1, the only one qemu reads) and checks the header the way
 * qemu does; differencing VDIs (a parent or link UUID) are rejected.
 *
 * @example
 * ```ts
 * const found = await vdiDetector.detect(reader, {});
 * found?.variant; // "dynamic"
 * ```
 */
export const vdiDetector: Detector = { name: "vdi", phase: "head", detect: detectVdi };
