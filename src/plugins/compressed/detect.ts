import { constants, inflateRawSync } from "node:zlib";
import { asciiField, crc32, isTarHeader, matchAscii, readAt, u32le } from "../../plugin-api.ts";
import type { Detection, ImageReader } from "../../plugin-api.ts";

export { isTarHeader };

/** The kinds of compressed (or archived) image the plugin unpacks. */
export type Kind = "gz" | "xz" | "zst" | "bz2" | "tar";

/** Every kind, in the order `--container` lists them. */
export const KINDS: readonly Kind[] = ["gz", "xz", "zst", "bz2", "tar"];

/** Bytes of the head a detection reads (the inspector reads these 4 KiB once for every detector). */
const HEAD = 4096;
/** How far zstd skippable frames may push the first real frame before detection gives up. */
const MAX_SKIPPABLE_BYTES = 1 << 20;
const MAX_SKIPPABLE_FRAMES = 16;
/** What the trial inflation of a gzip head may produce before it counts as valid anyway. */
const TRIAL_OUTPUT = 1 << 20;

/**
 * Which kind of compressed stream or tar archive an image starts with, by its bytes alone:
 * gzip (a well-formed member header whose first deflate bytes inflate), xz (stream header
 * with its CRC), zstd (a frame after at most 16 skippable frames), bzip2 (`BZh1`…`BZh9` and a
 * block or end-of-stream magic), a ustar tar (magic at 257 and a valid header checksum).
 * Null when it is none of these.
 *
 * @example
 * ```ts
 * import { openFileReader } from "diskpipe";
 * const kind = await detectKind(await openFileReader("cloud.img")); // "xz" for an xz stream, whatever its name
 * ```
 */
export async function detectKind(reader: ImageReader): Promise<Kind | null> {
  const head = await readAt(reader, 0, HEAD);
  if (isGzip(head)) return "gz";
  if (isXz(head)) return "xz";
  if (isBzip2(head)) return "bz2";
  if (isTarHeader(head)) return "tar";
  if (await isZstd(reader, head)) return "zst";
  return null;
}

/**
 * The plugin's detector: a compressed image is format `compressed`, its kind in `variant`
 * and `details.compression`. The virtual size is left to the content, known once unpacked.
 *
 * @example
 * ```ts
 * import { openFileReader } from "diskpipe";
 * const found = await detectCompressed(await openFileReader("disk.qcow2.zst")); // { format: "compressed", variant: "zst", … }
 * ```
 */
export async function detectCompressed(reader: ImageReader): Promise<Detection | null> {
  const kind = await detectKind(reader);
  // A tar whose first member is an OVF descriptor is an appliance (several files), not one image.
  if (kind === "tar" && /\.ovf$/i.test(asciiField(await readAt(reader, 0, 100), 0, 100))) return null;
  return kind ? { format: "compressed", variant: kind, problems: [], details: { compression: kind } } : null;
}

function isGzip(head: Uint8Array): boolean {
  // ID1 ID2, CM = 8 (deflate), no reserved flag bits.
  if (head.length < 18 || head[0] !== 0x1f || head[1] !== 0x8b || head[2] !== 8 || (head[3] & 0xe0) !== 0) return false;
  const start = deflateStart(head);
  // Stryker disable next-line ConditionalExpression: without it the trial below inflates from the ID bytes or from nothing, and both fail
  if (start === undefined || start >= head.length) return false;
  // The first deflate blocks must inflate: bytes that only look like a header do not.
  try {
    inflateRawSync(head.subarray(start), { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: TRIAL_OUTPUT });
    return true;
  } catch (error) {
    return (error as { code?: string }).code === "ERR_BUFFER_TOO_LARGE";
  }
}

/** Where a gzip member's deflate data starts, past its optional fields (undefined: beyond the head). */
function deflateStart(head: Uint8Array): number | undefined {
  const flags = head[3];
  let at = 10;
  if (flags & 4) at += 2 + (head[10] | (head[11] << 8));
  for (const flag of [8, 16]) {
    if (!(flags & flag)) continue;
    const end = head.indexOf(0, at);
    // Stryker disable next-line EqualityOperator: the search starts at byte 10, so a found NUL is never at 0
    if (end < 0) return undefined;
    at = end + 1;
  }
  if (flags & 2) at += 2;
  return at;
}

function isXz(head: Uint8Array): boolean {
  // Stryker disable next-line ConditionalExpression: a shorter head fails the CRC check below (its bytes read as undefined)
  if (head.length < 12 || !matchBytes(head, 0, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return false;
  // Stream flags: a zero byte, then a check type in the low nibble; their CRC32 follows.
  return head[6] === 0 && (head[7] & 0xf0) === 0 && crc32(head.subarray(6, 8)) === u32le(head, 8);
}

function isBzip2(head: Uint8Array): boolean {
  // Stryker disable next-line ConditionalExpression: a shorter head cannot hold the 6-byte magic compared below
  if (head.length < 10 || !matchAscii(head, 0, "BZh") || head[3] < 0x31 || head[3] > 0x39) return false;
  return (
    matchBytes(head, 4, [0x31, 0x41, 0x59, 0x26, 0x53, 0x59]) ||
    matchBytes(head, 4, [0x17, 0x72, 0x45, 0x38, 0x50, 0x90])
  );
}

async function isZstd(reader: ImageReader, head: Uint8Array): Promise<boolean> {
  let at = 0;
  for (let frames = 0; frames <= MAX_SKIPPABLE_FRAMES && at <= MAX_SKIPPABLE_BYTES; frames++) {
    const bytes = at + 8 <= head.length ? head.subarray(at, at + 8) : await readAt(reader, at, 8);
    if (bytes.length < 5) return false;
    const magic = u32le(bytes, 0);
    // A frame: its header descriptor's reserved bit is clear.
    if (magic === 0xfd2fb528) return (bytes[4] & 0x08) === 0;
    // A skippable frame (magic 0x184D2A50 to 0x184D2A5F, then its length): look past it.
    // Stryker disable next-line ConditionalExpression: a shorter read gives a NaN length, which ends the walk with false
    if ((magic & 0xfffffff0) !== 0x184d2a50 || bytes.length < 8) return false;
    at += 8 + u32le(bytes, 4);
  }
  return false;
}

function matchBytes(bytes: Uint8Array, at: number, expected: readonly number[]): boolean {
  return expected.every((byte, i) => bytes[at + i] === byte);
}

/** The `--container` names of each kind (and a few spellings users type). */
const CLAIM_NAMES: Record<string, Kind> = {
  gz: "gz",
  gzip: "gz",
  xz: "xz",
  zst: "zst",
  zstd: "zst",
  bz2: "bz2",
  bzip2: "bz2",
  tar: "tar",
};

/**
 * The kind a `--container` claim names, undefined when it names none of this plugin's.
 *
 * @example
 * ```ts
 * claimedKind("zstd"); // "zst"
 * ```
 */
export function claimedKind(container: string | undefined): Kind | undefined {
  const name = container?.trim().toLowerCase();
  // Stryker disable next-line ConditionalExpression: no own key is named "undefined"
  return name !== undefined && Object.hasOwn(CLAIM_NAMES, name) ? CLAIM_NAMES[name] : undefined;
}
