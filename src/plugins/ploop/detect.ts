import {
  matchAscii,
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
 * The problem codes the ploop detector reports besides the common `truncated` (stable;
 * scripts match on them).
 */
export const ploopProblemCodes = ["ploop-corrupt-header", "ploop-format-extension"] as const;

const problem = (code: (typeof ploopProblemCodes)[number] | "truncated", message: string): Problem => ({
  code,
  message,
});

const MAGIC_V1 = "WithoutFreeSpace";
const MAGIC_EXT = "WithouFreSpacExt";
const HEADER_SIZE = 64;
const SECTOR = 512;
const INUSE = 0x746f6e59;
const INT32_MAX = 2 ** 31 - 1;

async function detectPloop(reader: ImageReader, context: DetectContext): Promise<Detection | null> {
  const head = await readAt(reader, 0, HEADER_SIZE);
  const ext = matchAscii(head, 0, MAGIC_EXT);
  if (!ext && !matchAscii(head, 0, MAGIC_V1)) return null;
  if (head.length < HEADER_SIZE)
    return { format: "ploop", problems: [problem("truncated", "ploop header is truncated")] };
  const corrupt = (why: string) => problem("ploop-corrupt-header", `ploop header is corrupt: ${why}`);
  const problems: Problem[] = [];
  const version = u32le(head, 16);
  const tracks = u32le(head, 28);
  const batEntries = u32le(head, 32);
  // The old magic keeps only the low 32 bits of nb_sectors, as qemu reads it.
  const sectors = ext ? u64leBig(head, 36) : u64leBig(head, 36) & 0xffffffffn;
  const dataOffset = u32le(head, 48);
  const extensionOffset = u64leBig(head, 56);
  const batEnd = HEADER_SIZE + batEntries * 4;
  if (version !== 2) problems.push(corrupt(`version ${version} is not 2`));
  if (tracks === 0 || tracks > Math.floor(INT32_MAX / 513))
    problems.push(corrupt(`cluster of ${tracks} sectors is invalid`));
  else if (BigInt(batEntries) * BigInt(tracks) < sectors) problems.push(corrupt("the BAT does not cover the disk"));
  else if (
    // Stryker disable next-line ConditionalExpression,EqualityOperator: with no entries, -tracks (negative) is never >= the unsigned sector count
    batEntries > 0 &&
    BigInt(batEntries - 1) * BigInt(tracks) >= sectors
  )
    problems.push(corrupt("the BAT is larger than the disk"));
  // Stryker disable next-line EqualityOperator: an integer count never equals INT32_MAX / 4 (not an integer)
  if (batEntries > INT32_MAX / 4) problems.push(corrupt("the BAT is too large"));
  if (dataOffset !== 0 && dataOffset * SECTOR < batEnd) problems.push(corrupt("data overlaps the BAT"));
  // qemu 7.2 parses format extensions (dirty bitmaps) with an assertion a crafted offset trips.
  if (extensionOffset !== 0n)
    problems.push(
      problem("ploop-format-extension", "ploop has a format extension (dirty bitmaps), which is not accepted"),
    );
  const bytes = sectors * BigInt(SECTOR);
  // Stryker disable next-line EqualityOperator: bytes is a multiple of 512, never equal to 2^53 - 1 (odd)
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) problems.push(corrupt("the disk size is absurd"));
  const details = { clusterSize: tracks * SECTOR, batEntries, dirty: u32le(head, 44) === INUSE };
  // Stryker disable next-line EqualityOperator: bytes is a multiple of 512, never equal to 2^53 - 1 (odd)
  if (bytes <= BigInt(Number.MAX_SAFE_INTEGER))
    context.onHeader?.({ format: "ploop", virtualSize: Number(bytes), details });
  if (problems.length === 0 && batEnd > (await reader.size())) {
    problems.push(problem("truncated", "ploop is truncated: the BAT lies past the end of the file"));
  }
  return {
    format: "ploop",
    variant: ext ? "ext" : "v1",
    // Stryker disable next-line EqualityOperator: bytes is a multiple of 512, never equal to 2^53 - 1 (odd)
    virtualSize: bytes <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(bytes) : undefined,
    problems,
    details,
  };
}

/**
 * Detects Parallels/Virtuozzo ploop images (qemu's `parallels`) under either magic and checks
 * the header and BAT bounds; a format extension (dirty bitmaps) is refused. Virtual size is
 * nb_sectors × 512 (its low 32 bits for the old `WithoutFreeSpace` magic, as qemu reads it).
 *
 * @example
 * ```ts
 * const found = await ploopDetector.detect(reader, {});
 * found?.format; // "ploop"
 * ```
 */
export const ploopDetector: Detector = { name: "ploop", phase: "head", driver: "parallels", detect: detectPloop };
