import { u16le, u32le, u64leBig, type Problem } from "../../plugin-api.ts";
import { vmdkProblem } from "./problems.ts";

const SECTOR = 512;
/** qemu 7.2 vmdk_add_extent limits. */
const MAX_GRANULARITY = 0x200000;
const MAX_GTES = 512;
const MAX_L1_ENTRIES = 32 * 1024 * 1024;

/** The fields of a sparse VMDK's KDMV header, as qemu's VMDK4Header lays them out. */
export interface SparseHeader {
  version: number;
  flags: number;
  capacity: bigint;
  granularity: bigint;
  descOffset: bigint;
  descSize: bigint;
  gtes: number;
  rgdOffset: bigint;
  gdOffset: bigint;
  grainOffset: bigint;
  compression: number;
}

/**
 * Reads the KDMV header whose magic is at `base`.
 *
 * @example
 * ```ts
 * declare const head: Uint8Array;
 * parseSparse(head, 0).capacity; // in sectors
 * ```
 */
export function parseSparse(buf: Uint8Array, base: number): SparseHeader {
  return {
    version: u32le(buf, base + 4),
    flags: u32le(buf, base + 8),
    capacity: u64leBig(buf, base + 12),
    granularity: u64leBig(buf, base + 20),
    descOffset: u64leBig(buf, base + 28),
    descSize: u64leBig(buf, base + 36),
    gtes: u32le(buf, base + 44),
    rgdOffset: u64leBig(buf, base + 48),
    gdOffset: u64leBig(buf, base + 56),
    grainOffset: u64leBig(buf, base + 64),
    compression: u16le(buf, base + 77),
  };
}

/**
 * Entries of the grain directory (qemu's L1 table) the header implies.
 *
 * @example
 * ```ts
 * declare const h: SparseHeader;
 * l1Entries(h) * 4n; // the directory's bytes
 * ```
 */
export function l1Entries(h: SparseHeader): bigint {
  const span = BigInt(h.gtes) * h.granularity;
  return span === 0n ? 0n : (h.capacity + span - 1n) / span;
}

/**
 * What qemu would refuse or trip on in a KDMV header (`where`: "header" or "footer").
 *
 * @example
 * ```ts
 * declare const h: SparseHeader;
 * headerProblems(h, "header"); // [] for a sound header
 * ```
 */
export function headerProblems(h: SparseHeader, where: string): Problem[] {
  const corrupt = (why: string) => vmdkProblem("vmdk-corrupt-header", `VMDK ${where} is corrupt: ${why}`);
  const out: Problem[] = [];
  if (h.version < 1 || h.version > 3) out.push(corrupt(`version ${h.version} is not 1..3`));
  if (h.gtes < 1 || h.gtes > MAX_GTES) out.push(corrupt(`${h.gtes} entries per grain table is outside 1..${MAX_GTES}`));
  if (h.granularity < 1n || h.granularity > BigInt(MAX_GRANULARITY))
    out.push(corrupt(`grain of ${h.granularity} sectors is invalid`));
  if (h.capacity === 0n) out.push(corrupt("capacity 0 makes qemu follow the embedded descriptor's extents"));
  // Stryker disable next-line EqualityOperator: capacity × 512 is a multiple of 512 and MAX_SAFE_INTEGER (2^53 − 1) is odd, so the two are never equal and a strict or loose comparison gives the same answer
  if (h.capacity * BigInt(SECTOR) > BigInt(Number.MAX_SAFE_INTEGER)) out.push(corrupt("capacity is absurd"));
  else if (l1Entries(h) > BigInt(MAX_L1_ENTRIES)) out.push(corrupt("grain directory is too large"));
  return out;
}
