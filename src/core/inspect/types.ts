import type { Problem } from "../errors.ts";
import type { ImageReader } from "../io/reader.ts";

/**
 * What one format detector found. `format` is the conventional name (raw, qcow2, qed, vmdk,
 * vhd, vhdx, vdi, iso, luks, or a plugin's own); gpt/mbr report `format: "raw"` with
 * `variant: "gpt" | "mbr"`.
 *
 * @example
 * ```ts
 * const found: Detection = { format: "vhd", variant: "dynamic", virtualSize: 4194304, problems: [] };
 * ```
 */
export interface Detection {
  format: string;
  /** A sub-kind: "monolithicSparse", "streamOptimized", "fixed", "dynamic", "differencing", "gpt", "mbr", "iso9660", "udf", … */
  variant?: string;
  /** Virtual disk size in bytes, equal to `qemu-img info`'s `virtual-size` where qemu reads the format. */
  virtualSize?: number;
  /** Safety findings; an empty list means this detector saw nothing wrong. */
  problems: Problem[];
  /** Format-specific facts for reports (version, cluster size, create type, …). JSON-safe values only. */
  details?: Record<string, unknown>;
}

/**
 * What a detector may consult besides the image's bytes.
 *
 * @example
 * ```ts
 * const context: DetectContext = { inChainContainer: true, onHeader: (header) => console.log(header.format) };
 * ```
 */
export interface DetectContext {
  /** Set when the image is a member of a container that carries its own chain (XenServer OVF). */
  inChainContainer?: boolean;
  /**
   * Told what a header says (format, virtual size, details) as soon as it is parsed, before
   * checks that wait for the image's end: a download uses it to bound what it accepts.
   */
  onHeader?: (header: HeaderFacts) => void;
}

/**
 * What a format's header says about the image, before the whole image is known.
 *
 * @example
 * ```ts
 * const facts: HeaderFacts = { format: "qcow2", virtualSize: 10737418240, details: { snapshots: 0 } };
 * ```
 */
export interface HeaderFacts {
  format: string;
  virtualSize: number;
  details: Record<string, unknown>;
}

/**
 * A native detector for one format: reads only the regions it needs, returns null when the
 * image is not of its format. It must never throw for malformed input: it reports problems.
 *
 * @example
 * ```ts
 * const gzipRaw: Detector = {
 *   name: "gzip-raw",
 *   async detect(reader) {
 *     const head = await reader.read(0, 2);
 *     return head[0] === 0x1f && head[1] === 0x8b ? { format: "gzip-raw", problems: [] } : null;
 *   },
 * };
 * ```
 */
export interface Detector {
  name: string;
  /** Phase "head" detectors read only the first few hundred KiB; "tail" ones need the end (VHD footer). */
  phase?: "head" | "tail";
  /** The qemu driver whose images it recognizes, when there is one. */
  driver?: string;
  /**
   * A built-in refusal of a format no loaded plugin converts (`unsupported-format`), kept so
   * that qemu's probe never sees more than diskpipe: it is left out of an inspection that has
   * another detector for the same `driver`.
   */
  standIn?: boolean;
  detect(reader: ImageReader, context: DetectContext): Promise<Detection | null>;
}

/**
 * Options for one inspection.
 *
 * @example
 * ```ts
 * const options: InspectOptions = { claimed: "ami", accepts: ["raw", "qcow2"], maxSize: 2 ** 40 };
 * ```
 */
export interface InspectOptions {
  /** The format the caller claims the image is (`--from`, `--format`, a spool folder, an API field). */
  claimed?: string;
  /** Largest virtual size accepted, in bytes. */
  maxSize?: number;
  /**
   * Detectors registered by format plugins. The built-in ones always run, but for a stand-in
   * (see {@link Detector.standIn}) whose driver one of these detects.
   */
  detectors?: Detector[];
  /** Accept differencing VHDs (only a chain container's own reader does this). */
  inChainContainer?: boolean;
  /** Told each format header as soon as a detector has parsed it (see {@link DetectContext.onHeader}). */
  onHeader?: (header: HeaderFacts) => void;
  /**
   * Told the verdict of the head detectors when they found nothing to refuse, before the tail
   * detectors (which need the image's end) run: a download's reader may act on the head's
   * format while the rest arrives. The returned verdict still covers everything.
   */
  onHeadVerdict?: (head: InspectResult) => void;
  /**
   * Detections acceptable for `claimed`, replacing the built-in claim rule: conventional format
   * names (any variant) or `format:variant` (e.g. `"raw:gpt"`). A plugin uses this for claims
   * the inspector does not know, e.g. claimed "ami" accepts `["raw", "qcow2"]`.
   */
  accepts?: string[];
}

/**
 * The inspector's verdict on one image. `safe` is true only when `problems` is empty.
 *
 * @example
 * ```ts
 * const r: InspectResult = await inspect("disk.vmdk");
 * if (!r.safe) console.log(r.problems.map((p) => p.code));
 * ```
 */
export interface InspectResult {
  /** Conventional format name; "raw" for raw, gpt and mbr images. */
  format: string;
  variant?: string;
  virtualSize: number;
  /**
   * Size of the image file in bytes; -1 when the inspector rejected a stream from its head
   * before the stream's size was known.
   */
  actualSize: number;
  safe: boolean;
  problems: Problem[];
  /** Every detector that matched, for polyglot reports. */
  matches: string[];
  details: Record<string, unknown>;
  /** True when the head alone settled a rejection, so the tail detectors never ran (nor read the end). */
  stoppedEarly?: boolean;
}
