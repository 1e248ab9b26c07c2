import type { InspectResult } from "./inspect/types.ts";
import type { ConvertPlan, JobSpec, Stage } from "./job.ts";
import type { FormatDefinition } from "./plugin.ts";
import type { FormatRegistry } from "./formats.ts";
import type { QemuImg } from "./qemu-img.ts";
import type { ImageRegion } from "./io/image-region.ts";
import type { ImageReader } from "./io/reader.ts";

/** The local image a job works on after fetch (and after a container handler unpacked it). */
export interface LocalImage {
  path: string;
  /** The format claimed for it, if any. */
  claimed?: string;
  /** True when the file is a temporary copy owned by the job (removed at cleanup). */
  temporary: boolean;
  /**
   * Set when the image is only this byte range of `path` (an archive member read where it
   * lies): read it through `regionReader`, and hand qemu-img the `PlanImage` with the same region.
   */
  region?: ImageRegion;
  /**
   * Set while the file is still being downloaded: only a container whose format says
   * `unpacksArriving` is handed such an image; every other stage gets it complete.
   */
  arriving?: ArrivingImage;
}

/**
 * An image handed on while its download goes on (a compressed file decompressed as it
 * arrives): read it through `reader` or `chunks()`, never through its path, and await
 * `complete` before using what was made of it.
 */
export interface ArrivingImage {
  /** Reads wait for bytes not yet in and fail with the download's error. */
  reader: ImageReader;
  /** The bytes from the first, as they arrive; the iteration ends with the download. */
  chunks(): AsyncIterable<Uint8Array>;
  /** The declared total (Content-Length), when the server gave one. */
  size?: number;
  /** Settles once every byte is in and the job's `--checksum` holds; rejects with what failed. */
  complete: Promise<void>;
}

/** The output file a job wrote, before it is committed to the destination. */
export interface JobOutput {
  path: string;
  format: string;
  size?: number;
}

/**
 * Everything a hook can see and use about the job it runs in.
 *
 * @example
 * ```ts
 * definePlugin({ name: "log", hooks: { postConvert(ctx) { ctx.warn(`wrote ${ctx.output!.path}`); } } });
 * ```
 */
export interface JobContext {
  readonly id: string;
  /** The request; `preFetch` hooks may rewrite it. */
  spec: JobSpec;
  /** A directory owned by this job, removed at cleanup. */
  readonly workDir: string;
  readonly signal: AbortSignal;
  image?: LocalImage;
  inspection?: InspectResult;
  /** The format handler that claimed the job (first-match), if any. */
  handler?: FormatDefinition;
  plan?: ConvertPlan;
  output?: JobOutput;
  /** `ALGO:HEX` of the source bytes, when they were hashed while fetched. */
  sourceHash?: string;
  /**
   * The content hash (`blk-sha256:HEX`) of the source disk, set before `upload` when the job
   * verifies (or pins) it: sinks store it (dirStore sidecars, the HTTP PUT header).
   */
  contentHash?: string;
  /** The qemu-img adapter, for hooks that need qemu's view (always with an inspected image). */
  readonly qemu: QemuImg;
  readonly formats: FormatRegistry;
  /** Records a warning on the job's event stream. */
  warn(message: string): void;
  /** Reports progress of the current stage in bytes. */
  progress(bytes: number, total?: number): void;
  /** Registers work to run when the job ends, whether it succeeded or not. */
  onCleanup(fn: () => void | Promise<void>): void;
  /** The stage running now. */
  readonly stage: Stage;
}
