import {
  matchAscii,
  printable,
  qemuProbesDescriptor,
  readAt,
  u32le,
  u64leBig,
  type DetectContext,
  type Detection,
  type Detector,
  type ImageReader,
  type Problem,
} from "../../plugin-api.ts";
import { headerProblems, l1Entries, parseSparse, type SparseHeader } from "./sparse-header.ts";
import { vmdkProblem } from "./problems.ts";
import { descriptorText, parseVmdkDescriptor, type VmdkDescriptor } from "./descriptor.ts";

export { vmdkProblemCodes } from "./problems.ts";

const problem = vmdkProblem;

const SECTOR = 512;
/** Largest descriptor accepted, embedded (in sectors × 512) or as a text file. */
const MAX_DESCRIPTOR = 64 * 1024;
const GD_AT_END = 0xffffffffffffffffn;
const FLAG_REDUNDANT_GT = 0x2;
const MARKER_END_OF_STREAM = 0;
const MARKER_FOOTER = 3;
const ACCEPTED_TYPES = new Set(["monolithicSparse", "streamOptimized"]);

function descriptorProblems(d: VmdkDescriptor, embedded: boolean, capacity: bigint): Problem[] {
  const out: Problem[] = [];
  if (d.namesParent)
    out.push(problem("vmdk-parent", "VMDK descriptor names a parent (parentFileNameHint), which qemu-img would open"));
  if (d.unexpectedCount > 0) {
    const shown = d.unexpected.map((u) => `line ${u.line}: "${u.text}"`).join("; ");
    out.push(problem("vmdk-descriptor-line", `VMDK descriptor has ${d.unexpectedCount} unexpected line(s): ${shown}`));
  }
  if (!d.cidsReadable)
    out.push(problem("vmdk-descriptor-line", "VMDK descriptor lacks a readable CID or parentCID line"));
  if (d.createType !== d.qemuCreateType) {
    out.push(problem("vmdk-descriptor-line", "VMDK descriptor mentions createType outside its key line"));
  }
  if (!d.createType || !ACCEPTED_TYPES.has(d.createType)) {
    out.push(
      problem(
        "vmdk-create-type",
        `VMDK create type "${d.createType ?? ""}" is not monolithicSparse or streamOptimized`,
      ),
    );
  }
  const named = d.extents.filter((e) => e.type !== "ZERO");
  if (!embedded && named.length > 0) {
    const files = named
      .slice(0, 3)
      .map((e) => `${e.type} "${e.file ?? ""}"`)
      .join(", ");
    out.push(problem("vmdk-extent-file", `VMDK descriptor file names extent files: ${files}`));
  }
  if (embedded) {
    const bad = d.extents.find((e) => e.type !== "SPARSE");
    if (bad || d.extents.length !== 1) {
      const what = bad ? `${bad.type} "${bad.file ?? ""}"` : `${d.extents.length} extents`;
      out.push(problem("vmdk-extent-file", `VMDK embedded descriptor must have one SPARSE extent, not ${what}`));
    } else if (BigInt(d.extents[0]!.sectors) !== capacity) {
      out.push(problem("vmdk-corrupt-header", "VMDK descriptor extent size differs from the header capacity"));
    }
  }
  return out;
}

/** Checks the embedded descriptor: at sector 1, bounded, NUL-terminated, not overlapping the tables. */
async function embeddedDescriptor(
  reader: ImageReader,
  h: SparseHeader,
): Promise<{ problems: Problem[]; descriptor?: VmdkDescriptor }> {
  const bounds = (why: string) => ({ problems: [problem("vmdk-descriptor-bounds", `VMDK descriptor ${why}`)] });
  if (h.descOffset !== 1n) return bounds(`offset is sector ${h.descOffset}, not 1`);
  // Stryker disable next-line ConditionalExpression: a size of 0 sectors reads nothing, which the NUL-termination check below refuses with the same code
  if (h.descSize < 1n || h.descSize * BigInt(SECTOR) > BigInt(MAX_DESCRIPTOR))
    return bounds(`size of ${h.descSize} sectors is outside 1..${MAX_DESCRIPTOR / SECTOR}`);
  const descEnd = h.descOffset + h.descSize;
  // Stryker disable ConditionalExpression,ArrayDeclaration: ~0 is never below the descriptor's end, and a string placeholder compared with a bigint is false, so including either changes nothing
  const directory = h.gdOffset !== GD_AT_END ? [h.gdOffset] : [];
  const redundant = h.flags & FLAG_REDUNDANT_GT ? [h.rgdOffset] : [];
  // Stryker restore ConditionalExpression,ArrayDeclaration
  const next = [h.grainOffset, ...directory, ...redundant];
  if (next.some((sector) => sector < descEnd)) return bounds("overlaps the grain directory or grains");
  const length = Number(h.descSize) * SECTOR;
  const bytes = await readAt(reader, SECTOR, length);
  const { text, terminated } = descriptorText(bytes);
  // qemu reads the descriptor as a C string of up to 1 MiB, so unterminated text runs on past its sectors.
  if (!terminated && bytes.length === length) return bounds("is not NUL-terminated within its sectors");
  const descriptor = parseVmdkDescriptor(text);
  return { problems: descriptorProblems(descriptor, true, h.capacity), descriptor };
}

/** qemu reads a footer 1536 bytes before the end when the header's grain directory offset is ~0. */
async function readFooter(
  reader: ImageReader,
  header: SparseHeader,
): Promise<{ problems: Problem[]; footer?: SparseHeader }> {
  const bad = (why: string) => ({ problems: [problem("vmdk-footer", `VMDK stream footer ${why}`)] });
  const fileSize = await reader.size();
  // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: a clean image of under 4 sectors cannot get here (its footer sectors would overlap the descriptor at sector 1, which cannot start with a footer marker or KDMV), and 2 sectors or less read short, refused with the same code
  if (fileSize % SECTOR !== 0 || fileSize < 4 * SECTOR) return bad("cannot exist: the file size is not whole sectors");
  const at = fileSize - 3 * SECTOR;
  const buf = await readAt(reader, at, 3 * SECTOR);
  if (buf.length < 3 * SECTOR) return bad("is truncated");
  const markerOk = u32le(buf, 8) === 0 && u32le(buf, 12) === MARKER_FOOTER;
  const eosOk = u64leBig(buf, 1024) === 0n && u32le(buf, 1032) === 0 && u32le(buf, 1036) === MARKER_END_OF_STREAM;
  if (!markerOk || !matchAscii(buf, SECTOR, "KDMV") || !eosOk) return bad("is missing or malformed");
  const footer = parseSparse(buf, SECTOR);
  // Stryker disable next-line ConditionalExpression: an offset of ~0 also fails the check below that the directory lies before the footer, with the same code
  if (footer.gdOffset === GD_AT_END) return bad("has no grain directory offset");
  if (footer.capacity !== header.capacity || footer.granularity !== header.granularity || footer.gtes !== header.gtes) {
    return bad("disagrees with the header");
  }
  if (footer.gdOffset * BigInt(SECTOR) >= BigInt(at)) return bad("points its grain directory past itself");
  const problems = headerProblems(footer, "footer").map((p) => problem("vmdk-footer", p.message));
  return { problems, footer };
}

async function boundsProblems(reader: ImageReader, h: SparseHeader): Promise<Problem[]> {
  const fileSize = BigInt(await reader.size());
  const l1Bytes = l1Entries(h) * 4n;
  const short = (what: string) => problem("truncated", `VMDK is truncated: the ${what} lies past the end of the file`);
  const out: Problem[] = [];
  if (h.grainOffset * BigInt(SECTOR) > fileSize) out.push(short("first grain"));
  if (h.gdOffset * BigInt(SECTOR) + l1Bytes > fileSize) out.push(short("grain directory"));
  if (h.flags & FLAG_REDUNDANT_GT && h.rgdOffset * BigInt(SECTOR) + l1Bytes > fileSize)
    out.push(short("redundant grain directory"));
  return out;
}

async function detectSparse(reader: ImageReader, head: Uint8Array, context: DetectContext): Promise<Detection> {
  if (head.length < 79) return { format: "vmdk", problems: [problem("truncated", "VMDK header is truncated")] };
  const header = parseSparse(head, 0);
  const problems = headerProblems(header, "header");
  const embedded = await embeddedDescriptor(reader, header);
  problems.push(...embedded.problems);
  let effective = header;
  const capacity = header.capacity * BigInt(SECTOR);
  // Stryker disable next-line EqualityOperator: capacity × 512 is a multiple of 512 and MAX_SAFE_INTEGER (2^53 − 1) is odd, so the two are never equal and a strict or loose comparison gives the same answer
  if (capacity <= BigInt(Number.MAX_SAFE_INTEGER))
    context.onHeader?.({
      format: "vmdk",
      virtualSize: Number(capacity),
      details: { clusterSize: Number(header.granularity) * SECTOR },
    });
  if (problems.length === 0 && header.gdOffset === GD_AT_END) {
    const { problems: footerProblems, footer } = await readFooter(reader, header);
    problems.push(...footerProblems);
    if (footer) effective = footer;
  }
  if (problems.length === 0) problems.push(...(await boundsProblems(reader, effective)));
  const bytes = effective.capacity * BigInt(SECTOR);
  const createType = embedded.descriptor?.createType;
  return {
    format: "vmdk",
    variant: createType && ACCEPTED_TYPES.has(createType) ? createType : "monolithicSparse",
    // Stryker disable next-line EqualityOperator: capacity × 512 is a multiple of 512 and MAX_SAFE_INTEGER (2^53 − 1) is odd, so the two are never equal and a strict or loose comparison gives the same answer
    virtualSize: bytes <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(bytes) : undefined,
    problems,
    details: {
      version: header.version,
      createType,
      clusterSize: Number(effective.granularity) * SECTOR,
      compressed: header.compression === 1,
      footer: header.gdOffset === GD_AT_END,
    },
  };
}

async function detectDescriptorFile(reader: ImageReader): Promise<Detection> {
  const bytes = await readAt(reader, 0, MAX_DESCRIPTOR + 1);
  const { text, terminated } = descriptorText(bytes);
  const problems: Problem[] = [];
  if (!terminated && bytes.length > MAX_DESCRIPTOR) {
    problems.push(
      problem("vmdk-descriptor-bounds", `VMDK descriptor file is larger than ${MAX_DESCRIPTOR / 1024} KiB`),
    );
  }
  const descriptor = parseVmdkDescriptor(text.slice(0, MAX_DESCRIPTOR));
  problems.push(...descriptorProblems(descriptor, false, 0n));
  const sectors = descriptor.extents.reduce((sum, e) => sum + e.sectors, 0);
  return {
    format: "vmdk",
    variant: descriptor.createType ? printable(descriptor.createType, 40) : "descriptor",
    virtualSize: Number.isSafeInteger(sectors * SECTOR) ? sectors * SECTOR : undefined,
    problems,
    details: { descriptorFile: true, createType: descriptor.createType, extents: descriptor.extents.length },
  };
}

/**
 * A text descriptor: what qemu's probe takes for one, or a file that announces itself as one
 * (qemu's vmdk driver reads that as a descriptor when asked to, whatever its probe says).
 */
function looksLikeDescriptor(head: Uint8Array): boolean {
  return matchAscii(head, 0, "# Disk DescriptorFile") || qemuProbesDescriptor(head);
}

async function detectVmdk(reader: ImageReader, context: DetectContext): Promise<Detection | null> {
  const head = await readAt(reader, 0, 2048);
  if (matchAscii(head, 0, "KDMV")) return detectSparse(reader, head, context);
  if (matchAscii(head, 0, "COWD")) {
    return {
      format: "vmdk",
      variant: "vmfsSparse",
      problems: [problem("vmdk-create-type", "VMDK3 (COWD) sparse images are not accepted: they name a parent file")],
    };
  }
  if (looksLikeDescriptor(head)) return detectDescriptorFile(reader);
  return null;
}

/**
 * Detects VMDK: sparse (`KDMV`), legacy `COWD`, and text descriptor files. Only
 * monolithicSparse and streamOptimized single-file images pass; a descriptor naming other
 * files (flat or split extents, a parent) is rejected, as is a descriptor that is not at
 * sector 1, is unbounded, or contains unexpected lines. A streamOptimized image whose
 * header defers the grain directory to the end must carry a consistent footer.
 *
 * @example
 * ```ts
 * const found = await vmdkDetector.detect(reader, {});
 * found?.variant; // "streamOptimized"
 * ```
 */
export const vmdkDetector: Detector = { name: "vmdk", phase: "head", detect: detectVmdk };
