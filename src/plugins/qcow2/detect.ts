import {
  matchAscii,
  readAt,
  u32be,
  u64beBig,
  u8,
  type DetectContext,
  type Detection,
  type Detector,
  type ImageReader,
  type Problem,
} from "../../plugin-api.ts";
import { V2_HEADER_LENGTH, readExtensions } from "./extensions.ts";
import { qcow2Problem } from "./problems.ts";

export { qcow2ProblemCodes } from "./problems.ts";

const problem = qcow2Problem;

const MAGIC = "QFI\xfb";
const V3_MIN_HEADER_LENGTH = 104;
const INT64_MAX = 2n ** 63n - 1n;
const INT32_MAX = 2 ** 31 - 1;

const INCOMPAT = { dirty: 1n, corrupt: 2n, dataFile: 4n, compression: 8n, extendedL2: 16n } as const;
/** Incompatible feature bits qemu 7.2 understands: dirty, corrupt, data file, compression type, extended L2. */
const KNOWN_INCOMPAT = 0x1fn;

/** Limits qemu 7.2 enforces in qcow2_do_open. */
const MAX_L1_BYTES = 32 * 1024 * 1024;
const MAX_REFTABLE_BYTES = 8 * 1024 * 1024;
const MAX_SNAPSHOTS = 65536;
const SNAPSHOT_HEADER_MIN = 40;

/** The qcow2 header fields the detector reads (offsets those of the qcow2 specification). */
export interface Qcow2Header {
  version: number;
  backingOffset: bigint;
  backingSize: number;
  clusterBits: number;
  size: bigint;
  cryptMethod: number;
  l1Size: number;
  l1Offset: bigint;
  refcountOffset: bigint;
  refcountClusters: number;
  snapshots: number;
  snapshotsOffset: bigint;
  incompatible: bigint;
  compatible: bigint;
  refcountOrder: number;
  headerLength: number;
  compressionType: number;
}

function parseHeader(head: Uint8Array, version: number): Qcow2Header {
  const v3 = version >= 3;
  const headerLength = v3 ? u32be(head, 100) : V2_HEADER_LENGTH;
  return {
    version,
    backingOffset: u64beBig(head, 8),
    backingSize: u32be(head, 16),
    clusterBits: u32be(head, 20),
    size: u64beBig(head, 24),
    cryptMethod: u32be(head, 32),
    l1Size: u32be(head, 36),
    l1Offset: u64beBig(head, 40),
    refcountOffset: u64beBig(head, 48),
    refcountClusters: u32be(head, 56),
    snapshots: u32be(head, 60),
    snapshotsOffset: u64beBig(head, 64),
    incompatible: v3 ? u64beBig(head, 72) : 0n,
    compatible: v3 ? u64beBig(head, 80) : 0n,
    refcountOrder: v3 ? u32be(head, 96) : 4,
    headerLength,
    compressionType: v3 && headerLength > 104 ? u8(head, 104) : 0,
  };
}

function bitsOf(mask: bigint): number[] {
  const bits: number[] = [];
  // Stryker disable next-line EqualityOperator: the mask is a u64, so bit 64 is always 0 and one more turn adds nothing
  for (let bit = 0; bit < 64; bit++) if ((mask >> BigInt(bit)) & 1n) bits.push(bit);
  return bits;
}

/** qemu's validate_table_offset: no int64 overflow, cluster aligned. */
function badTable(offset: bigint, entries: bigint, entryLength: bigint, clusterSize: bigint): boolean {
  // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator,BooleanLiteral: entries is a u32 and entryLength at most 2 MiB, so the product stays below 2^53 and this never holds
  if (entries > INT64_MAX / entryLength) return true;
  if (INT64_MAX - entries * entryLength < offset) return true;
  return offset % clusterSize !== 0n;
}

function headerProblems(h: Qcow2Header): Problem[] {
  const corrupt = (why: string) => problem("qcow2-corrupt-header", `qcow2 header is corrupt: ${why}`);
  const out: Problem[] = [];
  if (h.clusterBits < 9 || h.clusterBits > 21) return [corrupt(`cluster_bits ${h.clusterBits} is outside 9..21`)];
  const clusterSize = 2 ** h.clusterBits;
  const cluster = BigInt(clusterSize);

  if (h.backingOffset !== 0n || h.backingSize !== 0) {
    out.push(problem("qcow2-backing-file", "qcow2 names a backing file, which qemu-img would open from the host"));
  }
  if (h.incompatible & INCOMPAT.dataFile) {
    out.push(problem("qcow2-data-file", "qcow2 sets the external data file bit: its data lives in a host file"));
  }
  const unknown = h.incompatible & ~KNOWN_INCOMPAT;
  if (unknown) {
    out.push(
      problem("qcow2-unknown-features", `qcow2 sets unknown incompatible feature bits ${bitsOf(unknown).join(", ")}`),
    );
  }

  if (h.version >= 3) {
    if (h.headerLength < V3_MIN_HEADER_LENGTH)
      out.push(corrupt(`header_length ${h.headerLength} is below ${V3_MIN_HEADER_LENGTH}`));
    else if (h.headerLength > clusterSize)
      out.push(corrupt(`header_length ${h.headerLength} exceeds the cluster size`));
    if (h.refcountOrder > 6) out.push(corrupt(`refcount_order ${h.refcountOrder} is above 6`));
    if (h.compressionType > 1) out.push(corrupt(`unknown compression type ${h.compressionType}`));
    else if ((h.compressionType === 1) !== Boolean(h.incompatible & INCOMPAT.compression)) {
      out.push(corrupt("compression type and its incompatible feature bit disagree"));
    }
  }
  if (h.backingOffset > cluster) out.push(corrupt("backing file offset lies beyond the first cluster"));
  if (h.cryptMethod > 2) out.push(corrupt(`unknown encryption method ${h.cryptMethod}`));

  if (h.refcountClusters === 0) out.push(corrupt("no refcount table"));
  else if (h.refcountClusters > MAX_REFTABLE_BYTES / clusterSize)
    out.push(corrupt(`refcount table of ${h.refcountClusters} clusters is too large`));
  if (badTable(h.refcountOffset, BigInt(h.refcountClusters), cluster, cluster))
    out.push(corrupt("refcount table offset is invalid"));

  if (h.snapshots > MAX_SNAPSHOTS) out.push(corrupt(`${h.snapshots} snapshots is too many`));
  if (badTable(h.snapshotsOffset, BigInt(h.snapshots), BigInt(SNAPSHOT_HEADER_MIN), cluster))
    out.push(corrupt("snapshot table offset is invalid"));

  const l2Bits = BigInt(h.clusterBits - 3 - (h.incompatible & INCOMPAT.extendedL2 ? 1 : 0));
  const l1Span = 1n << (BigInt(h.clusterBits) + l2Bits);
  const l1Needed = (h.size + l1Span - 1n) / l1Span;
  if (h.size > BigInt(Number.MAX_SAFE_INTEGER) || l1Needed > BigInt(INT32_MAX))
    out.push(corrupt("virtual size is absurd"));
  else if (h.l1Size > MAX_L1_BYTES / 8) out.push(corrupt(`L1 table of ${h.l1Size} entries is too large`));
  else if (BigInt(h.l1Size) < l1Needed) out.push(corrupt("L1 table is too small for the virtual size"));
  if (badTable(h.l1Offset, BigInt(h.l1Size), 8n, cluster)) out.push(corrupt("L1 table offset is invalid"));
  // The first cluster holds the header; tables qemu would read from it are nonsense.
  if (h.refcountOffset < cluster) out.push(corrupt("refcount table overlaps the header"));
  if (h.l1Size > 0 && h.l1Offset < cluster) out.push(corrupt("L1 table overlaps the header"));
  if (h.snapshots > 0 && h.snapshotsOffset < cluster) out.push(corrupt("snapshot table overlaps the header"));
  return out;
}

/** Checks that need the file size: tables the header points at must lie inside the file. */
async function boundsProblems(reader: ImageReader, h: Qcow2Header): Promise<Problem[]> {
  const fileSize = BigInt(await reader.size());
  const cluster = 1n << BigInt(h.clusterBits);
  const short = (what: string) => problem("truncated", `qcow2 is truncated: the ${what} lies past the end of the file`);
  const out: Problem[] = [];
  if (BigInt(h.headerLength) > fileSize) out.push(short("header"));
  if (h.l1Size > 0 && h.l1Offset + BigInt(h.l1Size) * 8n > fileSize) out.push(short("L1 table"));
  if (h.refcountOffset + BigInt(h.refcountClusters) * cluster > fileSize) out.push(short("refcount table"));
  if (h.snapshots > 0 && h.snapshotsOffset + BigInt(h.snapshots * SNAPSHOT_HEADER_MIN) > fileSize)
    out.push(short("snapshot table"));
  return out;
}

async function detectQcow2(reader: ImageReader, context: DetectContext): Promise<Detection | null> {
  const head = await readAt(reader, 0, 512);
  const version = u32be(head, 4);
  if (!matchAscii(head, 0, MAGIC) || version === 1) return null; // version 1 is qcow: qcowDetector's
  if (head.length < V2_HEADER_LENGTH) {
    return { format: "qcow2", problems: [problem("truncated", "qcow2 header is truncated")] };
  }
  if (version !== 2 && version !== 3) {
    return {
      format: "qcow2",
      problems: [problem("qcow2-version", `qcow2 version ${version} is not 2 or 3`)],
      details: { version },
    };
  }
  const h = parseHeader(head, version);
  const problems = headerProblems(h);
  const details: Record<string, unknown> = {
    version,
    compat: version === 2 ? "0.10" : "1.1",
    clusterSize: h.clusterBits >= 9 && h.clusterBits <= 21 ? 2 ** h.clusterBits : undefined,
    encryption: ["none", "aes", "luks"][h.cryptMethod] ?? "unknown",
    dirty: Boolean(h.incompatible & INCOMPAT.dirty),
    corrupt: Boolean(h.incompatible & INCOMPAT.corrupt),
    extendedL2: Boolean(h.incompatible & INCOMPAT.extendedL2),
    lazyRefcounts: Boolean(h.compatible & 1n),
    compressionType: h.compressionType === 1 ? "zstd" : "zlib",
    refcountBits: h.refcountOrder <= 6 ? 2 ** h.refcountOrder : undefined,
    snapshots: h.snapshots,
  };
  const structural = problems.some((p) => p.code === "qcow2-corrupt-header");
  if (!structural) {
    const ext = await readExtensions(reader, h);
    problems.push(...ext.problems);
    if (ext.backingFormat) details.backingFormat = ext.backingFormat;
    if (ext.bitmaps) details.bitmaps = true;
    if (ext.encryptionHeader) details.encryptionHeader = true;
  }
  const size = h.size <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(h.size) : undefined;
  const virtualSize = size === undefined ? undefined : Math.floor(size / 512) * 512;
  if (virtualSize !== undefined) context.onHeader?.({ format: "qcow2", virtualSize, details });
  if (problems.length === 0) problems.push(...(await boundsProblems(reader, h)));
  return {
    format: "qcow2",
    variant: version === 2 ? "v2" : "v3",
    virtualSize,
    problems,
    details,
  };
}

/**
 * Detects qcow2 (versions 2 and 3) and rejects what lets qemu-img reach outside the image:
 * a backing file, an external data file, unknown incompatible features, and headers whose
 * tables are absurd or lie past the end of the file. Virtual size is qemu's: the header size
 * rounded down to 512 bytes.
 *
 * @example
 * ```ts
 * const found = await qcow2Detector.detect(reader, {});
 * if (found?.problems.some((p) => p.code === "qcow2-backing-file")) throw new Error("reject");
 * ```
 */
export const qcow2Detector: Detector = { name: "qcow2", phase: "head", detect: detectQcow2 };
