import { open, rm, stat } from "node:fs/promises";
import { DiskpipeError, inspectImage, refusalRejection, rejectUnsafe, spawnFilter } from "../../plugin-api.ts";
import type { HeaderFacts, InspectResult, JobContext, UnpackedImage } from "../../plugin-api.ts";
import { handleReader } from "./readers.ts";
import { exitFailure, programPath, TOOLS, watchPosition, type DecoderLimits } from "./decoders.ts";
import { Refusal } from "./refusal.ts";

/** zstd writing the image itself: holes for zero blocks (`--sparse` also on its stdout, a file). */
const DIRECT_ARGS = [...TOOLS.zst.args, "--sparse"];

/**
 * One decode of a whole zstd file by `zstd` itself into a new owner-only file (its stdout): no
 * pipe, no copy through diskpipe. Its bounds are the piped decoder's (CPU time, address space,
 * `--memory`) plus a file-size limit (`prlimit --fsize`): a stream that decodes to more than
 * `maxBytes` is stopped by the kernel (SIGXFSZ) and is a `decompression-bomb`. On any failure,
 * and when `signal` aborts, the process is killed and the file removed before this rejects.
 *
 * @example
 * ```ts
 * await decodeFile("disk.qcow2.zst", "work/decompressed-1a2b", {
 *   maxBytes: 2 ** 31,
 *   limits: { cpuSeconds: 600, addressSpace: 2 ** 31 },
 *   tooLarge: "it decompresses to more than 2 GiB",
 * });
 * ```
 */
export async function decodeFile(
  archive: string,
  path: string,
  options: {
    maxBytes: number;
    limits: DecoderLimits;
    signal?: AbortSignal;
    program?: string;
    onDecoder?: (pid: number) => void;
    onRead?: (bytes: number) => void;
    /** The refusal's message when the file would pass `maxBytes`. */
    tooLarge: string;
  },
): Promise<void> {
  const program = programPath(options.program ?? TOOLS.zst.program, TOOLS.zst.package);
  const onRead = options.onRead ?? (() => undefined);
  let filter: Awaited<ReturnType<typeof spawnFilter>> | undefined;
  const kill = () => filter?.kill();
  options.signal?.addEventListener("abort", kill, { once: true });
  try {
    if (options.signal?.aborted) throw options.signal.reason;
    filter = await spawnFilter(program, DIRECT_ARGS, {
      input: { file: archive },
      output: { file: path },
      limits: { ...options.limits, fileSize: options.maxBytes },
      ...(options.signal && { signal: options.signal }),
    });
    const pid = filter.pid;
    if (pid !== undefined) options.onDecoder?.(pid);
    if (options.signal?.aborted) kill();
    const stopWatching = pid === undefined ? () => undefined : watchPosition(pid, onRead);
    const run = await filter.finished.finally(stopWatching);
    if (run.exitCode === 0) return;
    if (run.signal === "SIGXFSZ" || /file too large/i.test(run.stderr))
      throw new Refusal("decompression-bomb", options.tooLarge);
    throw exitFailure(run, "zst");
  } catch (error) {
    kill();
    await filter?.finished.catch(() => undefined);
    await rm(path, { force: true });
    throw error;
  } finally {
    options.signal?.removeEventListener("abort", kill);
  }
}

/** What a hand-over decodes under: the head's format, the bound and its refusal's message. */
interface Chosen {
  format: string | undefined;
  bytes: number;
  tooLarge: string;
}

/**
 * Whether a piped zstd decode may hand over to {@link decodeFile}: only for a whole local file,
 * no tar inside, once the inspector has judged the head safe, as a format that is not itself a
 * container, and a hard bound on the decompressed size is known (`--max-size`, or the inner
 * header's). `switching` is the error the piped path is failed with when it hands over.
 *
 * @example
 * ```ts
 * const handover = new Handover();
 * handover.bound(2 ** 31, "it decompresses to more than 2 GiB");
 * handover.take("qcow2", false); // true: { format: "qcow2", bytes: 2 ** 31, tooLarge: "…" } is now `chosen`
 * ```
 */
export class Handover {
  readonly switching = new Error("handing the decode over to zstd writing the file itself");
  #bytes = Infinity;
  #tooLarge = "";
  #tar = false;
  #chosen: Chosen | undefined;

  /** The format the head showed and the bound the direct decode gets, once handed over. */
  get chosen(): Chosen | undefined {
    return this.#chosen;
  }

  /** A hard bound on the decompressed file's size and the refusal's message past it (the smallest counts). */
  bound(bytes: number, tooLarge: string): void {
    if (bytes < this.#bytes) ((this.#bytes = bytes), (this.#tooLarge = tooLarge));
  }

  /** The decoded stream is a tar: its member is extracted by the piped path, never handed over. */
  tarInside(): void {
    this.#tar = true;
  }

  /** The decoded stream has ended: there is nothing left to hand over. */
  drained(): void {
    this.#tar = true;
  }

  /**
   * Takes the head verdict's format (none when the inspector waits for the end before its
   * verdict: a qcow2's tables are checked against the file's size); true when handed over.
   */
  take(format: string | undefined, isContainer: boolean): boolean {
    if (this.#tar || isContainer || !Number.isFinite(this.#bytes) || this.#chosen) return false;
    this.#chosen = { format, bytes: this.#bytes, tooLarge: this.#tooLarge };
    return true;
  }
}

/**
 * Inspects a decoded file in full (as `claim`, when there is one): what qemu-img will read is
 * what was inspected, even if the compressed file changed between two decodes. An unsafe image
 * is refused (`rejectUnsafe`); `onHeader` is told the facts of its header.
 *
 * @example
 * ```ts
 * declare const ctx: JobContext;
 * const result = await inspectDecoded(ctx, "work/decompressed-1a2b-whole", "qcow2", () => undefined);
 * ```
 */
export async function inspectDecoded(
  ctx: JobContext,
  path: string,
  claim: string | undefined,
  onHeader: (header: HeaderFacts) => void,
): Promise<InspectResult> {
  const handle = await open(path, "r");
  try {
    const maxSize = ctx.spec.maxSize;
    const result = await inspectImage(handleReader(handle), {
      ...ctx.formats.inspection(claim),
      ...(maxSize !== undefined && { maxSize }),
      onHeader,
    });
    rejectUnsafe(result, ctx.spec.source, "unpack");
    return result;
  } finally {
    await handle.close();
  }
}

/**
 * The hand-over's second half: zstd decodes the whole file into `path` under the bound, the
 * result is inspected again in full and must show the format the head showed; on any failure
 * the file is removed and the error is the job's (a refusal names the source).
 *
 * @example
 * ```ts
 * declare const ctx: JobContext;
 * const image = await decodeWhole(ctx, "disk.qcow2.zst", "work/decompressed-1a2b-whole", {
 *   bytes: 2 ** 31, format: "qcow2", tooLarge: "it decompresses to more than 2 GiB", limits: { cpuSeconds: 600, addressSpace: 2 ** 31 }, settings: {},
 * });
 * ```
 */
export async function decodeWhole(
  ctx: JobContext,
  archive: string,
  path: string,
  plan: Chosen & { claim?: string | undefined; limits: DecoderLimits; settings: WholeSettings },
): Promise<UnpackedImage> {
  const { bytes, format, claim, settings } = plan;
  const source = ctx.spec.source;
  const compressedSize = (await stat(archive)).size;
  let compressedRead = 0;
  const facts = (completed: boolean, decompressed: number) =>
    settings.onEnded?.({ kind: "zst", compressedSize, compressedRead, decompressed, completed });
  try {
    await decodeFile(archive, path, {
      maxBytes: bytes,
      limits: plan.limits,
      signal: ctx.signal,
      tooLarge: plan.tooLarge,
      ...(settings.programs?.zst && { program: settings.programs.zst }),
      ...(settings.onDecoder && { onDecoder: settings.onDecoder }),
      onRead: (read) => ctx.progress((compressedRead = read), compressedSize),
    });
    let most = Infinity;
    const result = await inspectDecoded(ctx, path, claim ?? format, (header) => {
      most = Math.min(most, ctx.formats.maxFileSizeOf(header.format, header.virtualSize, header.details) ?? Infinity);
    });
    const size = (await stat(path)).size;
    // A bound its header sets that was not known when the decode was handed over.
    if (size > most)
      throw new Refusal(
        "decompression-bomb",
        `it decompresses to more than the ${most} bytes its ${result.format} header allows`,
      );
    if (ctx.formats.detectedContainers().includes(result.format))
      throw new Refusal(
        "nested-container",
        `it holds an image of format ${result.format} inside: only one level is unpacked`,
      );
    if (format !== undefined && result.format !== format)
      throw new Refusal(
        "compressed-corrupt",
        `it decoded in full to a ${result.format} image after its head showed ${format}: it changed while it was read`,
      );
    compressedRead = compressedSize;
    facts(true, size);
    return { path, format: claim ?? result.format };
  } catch (error) {
    await rm(path, { force: true });
    facts(false, 0);
    if (ctx.signal.aborted) throw new DiskpipeError("aborted", `decompressing ${source} was aborted`);
    throw error instanceof Refusal ? refusalRejection(source, error) : error;
  }
}

/** What {@link decodeWhole} takes of the unpack's settings. */
interface WholeSettings {
  programs?: Partial<Record<"xz" | "zst" | "bz2", string>>;
  onDecoder?: (pid: number) => void;
  onEnded?: (facts: {
    kind: "zst";
    compressedSize: number;
    compressedRead: number;
    decompressed: number;
    completed: boolean;
  }) => void;
}
