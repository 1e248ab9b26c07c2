import type { DiskpipeError, Problem } from "./errors.ts";
import type { InspectResult } from "./inspect/types.ts";
import type { ApplianceOutput } from "./plugin.ts";
import type { ImageRegion } from "./io/image-region.ts";

/**
 * What a caller asks for: one image from `source` to `destination` in format `to`.
 *
 * @example
 * ```ts
 * const spec: JobSpec = { source: "in.vmdk", destination: "out.qcow2", to: "qcow2", from: "vmdk" };
 * ```
 */
export interface JobSpec {
  /** A local path, a block device, an http(s):// URL, or an image service location (`store://NAME/ID`). */
  source: string;
  /** A local path, an existing block device, an http(s):// URL to PUT to, or an image service location. */
  destination: string;
  /** Target format, by conventional name (raw, qcow2, vmdk, vhd, vhdx, vdi, luks, or a plugin's). */
  to: string;
  /** The claimed source format; detection must agree with it. */
  from?: string;
  /** A container the image arrives in (e.g. "ovf" for a XenServer VHD chain tarball). */
  container?: string;
  /** `ALGO:HEX` (sha256 or sha512) the fetched source must hash to. */
  checksum?: string;
  /** Largest virtual size accepted, in bytes. */
  maxSize?: number;
  /**
   * After the conversion, hash the source and the output (the content hash, `blk-sha256:`) and
   * fail with `verify-failed` unless they are equal. Defaults to the configuration's `verify`.
   */
  verify?: boolean;
  /** `blk-sha256:HEX` the source disk's content hash must equal (`checksum-mismatch` otherwise). */
  contentHash?: string;
  /** Replace an existing destination file (never needed for block devices). */
  overwrite?: boolean;
  /** Options for plugins (passphraseFile, cipher, keySize, subformat, …). */
  options?: Record<string, unknown>;
  /** Aborts the job; everything written so far is removed. */
  signal?: AbortSignal;
}

/** The stages a job passes through, in order (`unpack` only for a container, before or after `inspect`). */
export const STAGES = [
  "resolve",
  "preFetch",
  "fetch",
  "unpack",
  "inspect",
  "verify",
  "prepare",
  "preConvert",
  "convert",
  "postConvert",
  "upload",
  "cleanup",
] as const;

/** One of {@link STAGES}. */
export type Stage = (typeof STAGES)[number];

/** A secret or other `--object` qemu-img needs; only file-backed secrets are allowed. */
export interface QemuSecret {
  id: string;
  /** Path of a file holding the secret. The secret itself never reaches argv, environment or logs. */
  file: string;
}

/** One side of a conversion as qemu-img sees it. */
export interface PlanImage {
  path: string;
  /** Conventional format name. */
  format: string;
  /** qemu block driver (vpc for vhd, …). */
  driver: string;
  /**
   * Extra driver options. For the input they switch qemu-img to `--image-opts`
   * (e.g. `{ "key-secret": "sec0" }` for LUKS); for the output they are `-o` options.
   */
  options: Record<string, string | number | boolean>;
  /** The image is this byte range of `path` (an archive member read in place), not the whole file. */
  region?: ImageRegion;
}

/**
 * How qemu-img will convert, built by the core and transformed by `preConvert` hooks.
 *
 * @example
 * ```ts
 * const hook = (plan: ConvertPlan) => ({ ...plan, flags: { ...plan.flags, compress: true } });
 * ```
 */
export interface ConvertPlan {
  input: PlanImage;
  output: PlanImage;
  secrets: QemuSecret[];
  flags: {
    /** `-m N`: parallel coroutines (1–16). */
    coroutines?: number;
    /** `-W`: out-of-order writes. */
    outOfOrder?: boolean;
    /** `-S`: minimum run of zeroes kept sparse, e.g. "4k"; "0" writes everything. */
    sparseSize?: string;
    /** `-t`: destination cache mode ("none" = O_DIRECT, for block devices). */
    cache?: string;
    /** `-T`: source cache mode. */
    sourceCache?: string;
    /** `-c`: compress (qcow2, vmdk streamOptimized). */
    compress?: boolean;
    /** `-r`: rate limit in bytes per second. */
    rateLimit?: number;
    /** `-n`: the destination exists already (a block device, a pre-created file); do not create it. */
    noCreate?: boolean;
    /** `--target-is-zero` (with `-n`): the existing destination reads as zeroes. */
    targetIsZero?: boolean;
  };
  /**
   * Resource limits of the qemu-img conversion (prlimit): CPU seconds and address space in
   * bytes. The core sets them from the configuration and the virtual size; a plugin that adds
   * work (LUKS key derivation) raises `cpuSeconds`.
   */
  limits?: { cpuSeconds: number; addressSpace: number };
  /**
   * How the output is produced: "qemu-img" (default), "copy" (a sparse-aware copy, chosen only
   * when source and target are both raw and the inspector confirmed raw), or "done" when a
   * hook already wrote `output.path` itself.
   */
  engine: "qemu-img" | "copy" | "done";
  /**
   * A qemu-img failure worth trying again, afresh, as a format's plugin knows it: when the
   * conversion fails with `stderr` in its error output, it runs again, `attempts` times in all,
   * after a pause of `pauseMs` (default none) that doubles with each attempt, up to 2 s.
   */
  retry?: { attempts: number; stderr: string; pauseMs?: number };
}

/**
 * Events every job emits. The CLI's progress bar, the dashboard and scripts all read these.
 *
 * @example
 * ```ts
 * pipeline.on((e: JobEvent) => { if (e.type === "progress") console.log(e.percent); });
 * ```
 */
export type JobEvent =
  | { type: "queued"; jobId: string; spec: PublicSpec; at: number }
  | { type: "stage-start"; jobId: string; stage: Stage; at: number }
  | { type: "stage-end"; jobId: string; stage: Stage; ms: number }
  | { type: "hook"; jobId: string; hook: string; plugin: string; ms: number }
  | { type: "progress"; jobId: string; stage: Stage; bytes: number; total?: number; percent?: number; rate?: number }
  | { type: "warning"; jobId: string; message: string; plugin?: string }
  | { type: "inspected"; jobId: string; result: InspectResult }
  | { type: "done"; jobId: string; result: JobResult }
  | { type: "failed"; jobId: string; error: ReturnType<DiskpipeError["toJSON"]>; ms: number };

/** A JobSpec without its signal and options, safe to log and show. */
export type PublicSpec = Omit<JobSpec, "signal" | "options">;

/** What a finished job returns. */
export interface JobResult {
  jobId: string;
  source: string;
  destination: string;
  /** Detected source format. */
  from: string;
  to: string;
  virtualSize: number;
  /** Bytes of the written output. */
  outputSize: number;
  /** `ALGO:HEX` of the source as fetched, when it was hashed. */
  sourceHash?: string;
  /** The disk's content hash (`blk-sha256:HEX`), when `verify` or `contentHash` asked for it. */
  contentHash?: string;
  /** True when the output's content hash was checked against the source's (`verify`). */
  verified?: boolean;
  /**
   * An appliance's outputs, one per disk in its order (then `destination` is their directory,
   * `from` the disks' formats joined with commas, the sizes their sums).
   */
  outputs?: Array<ApplianceOutput & { path: string }>;
  /** An appliance's description of the machine, written beside its outputs (`<stem>.ovf.json`). */
  description?: string;
  ms: number;
  timings: Array<{ stage: Stage; ms: number }>;
  warnings: string[];
}

/** Findings to show, re-exported here for plugin authors. */
export type { Problem };
