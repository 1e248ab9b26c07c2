import { randomBytes } from "node:crypto";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import {
  DiskpipeError,
  GrowingFile,
  inspectImage,
  openFileReader,
  refusalRejection,
  rejectUnsafe,
} from "../../plugin-api.ts";
import type { HeaderFacts, ImageReader, JobContext, UnpackedImage } from "../../plugin-api.ts";
import { ChunkReader } from "./chunks.ts";
import { decoderLimits, openDecoder, type DecoderLimits } from "./decoders.ts";
import { claimedKind, detectKind, isTarHeader, type Kind } from "./detect.ts";
import { Refusal } from "./refusal.ts";
import { HEAD_WINDOW, Pace } from "./pace.ts";
import { extractOne, type MemberSink } from "./tar.ts";
import { ContentWriter } from "./writer.ts";
import { decodeFile } from "./direct.ts";
import { Handover } from "./handover.ts";
import { memoryReader } from "./readers.ts";

/** Bytes of data any image may decompress to, whatever its compressed size. */
const EXPANSION_FLOOR = 64 * 1024 * 1024;
/** Data bytes per compressed byte past the floor; real disks compress their data 2 to 20 times. */
const DEFAULT_MAX_EXPANSION = 1000;

/**
 * Settings of one unpack (the plugin's options, resolved).
 *
 * @example
 * ```ts
 * const settings: UnpackSettings = { limits: { cpuSeconds: 3600, addressSpace: 2 ** 31 } };
 * ```
 */
export interface UnpackSettings {
  /** Decoder bounds; the CPU time grows with the bytes allowed when not given (see `decoderLimits`). */
  limits?: Partial<DecoderLimits>;
  /**
   * Without `--max-size`, the most bytes of data (all-zero blocks, left as holes, do not count)
   * an image may decompress to per byte of its compressed file, beyond the first 64 MiB
   * (default 1000).
   */
  maxExpansion?: number;
  /** Paths of the decoders, when not the ones on PATH. */
  programs?: Partial<Record<"xz" | "zst" | "bz2", string>>;
  /** Told the decoder's pid as soon as it runs (tests watch it end). */
  onDecoder?: (pid: number) => void;
  /**
   * false: a whole zstd file is always decoded through the pipe, never handed over to zstd
   * writing the file itself once its head is judged (tests, comparisons).
   */
  direct?: boolean;
  /** Told how far decompression got when it ended, finished or stopped (tests, monitoring). */
  onEnded?: (facts: DecompressionFacts) => void;
}

/**
 * How far one decompression got.
 *
 * @example
 * ```ts
 * const facts: DecompressionFacts = { kind: "xz", compressedSize: 4096, compressedRead: 4096, decompressed: 65536, completed: true };
 * ```
 */
export interface DecompressionFacts {
  kind: Kind;
  compressedSize: number;
  /** Compressed bytes the decoder had read (for a tool: its position in the file when it ended). */
  compressedRead: number;
  /** Decompressed bytes taken into the image (holes included). */
  decompressed: number;
  completed: boolean;
}

/**
 * Decompresses the job's image into a sparse file in its work directory while the inspector
 * reads the decompressed head as it arrives: a hostile or mismatched image inside is refused
 * after its header, the decoder stopped and the file removed. The decompressed bytes are
 * bounded by what `--max-size` allows, then by what the inner header allows; a tar inside
 * yields its one member. Returns the image, claimed as `--from` or as detected.
 *
 * @example
 * ```ts
 * declare const ctx: JobContext;
 * const image = await unpackCompressed(ctx, {}); // { path: "<workDir>/decompressed-…", format: "qcow2" }
 * ```
 */
export async function unpackCompressed(ctx: JobContext, settings: UnpackSettings): Promise<UnpackedImage> {
  const archive = ctx.image?.path;
  if (!archive) throw new DiskpipeError("plugin-failed", "compressed: no fetched image to decompress");
  // A download still going is read as it arrives; a complete file, by the decoder itself.
  const arriving = ctx.image?.arriving;
  const source = ctx.spec.source;
  const kind = await kindOf(arriving?.reader ?? archive, source, ctx.spec.container);
  const claim = ctx.spec.from !== undefined && ctx.spec.from !== "compressed" ? ctx.spec.from : undefined;
  const compressedSize = arriving ? arriving.size : (await stat(archive)).size;
  const file = await GrowingFile.create(join(ctx.workDir, `decompressed-${randomBytes(4).toString("hex")}`), {
    sparse: true,
  });
  const maxSize = ctx.spec.maxSize;
  const expansion = settings.maxExpansion ?? DEFAULT_MAX_EXPANSION;
  // A whole zstd file is handed over to zstd writing it itself once the head is judged under a
  // hard bound (handover.ts); without --max-size, a bound within the data bound below.
  const ceiling = maxSize === undefined ? EXPANSION_FLOOR + expansion * (compressedSize ?? 0) : Infinity;
  const handover = kind === "zst" && !arriving && settings.direct !== false ? new Handover(ceiling) : undefined;
  const bomb = (message: string) => () => refusalRejection(source, new Refusal("decompression-bomb", message));
  const bound = (bytes: number, message: string) => (file.limit(bytes, bomb(message)), handover?.bound(bytes, message));
  const allowed = maxSize === undefined ? Infinity : ctx.formats.maxFileSizeFor(maxSize);
  if (maxSize !== undefined)
    bound(allowed, `it decompresses to more than an image of at most ${maxSize} bytes (--max-size) can be`);
  // Raw and iso images have no header bound: without --max-size, the data (not the holes) an
  // image may cost the disk is bounded by its compressed size; while it still downloads, by the
  // compressed bytes read so far (a Content-Length is only the server's word).
  const boundByCompressed = (compressed: number) => {
    const most = EXPANSION_FLOOR + expansion * compressed;
    file.limitStored(
      most,
      bomb(
        `it decompresses to more than ${most} bytes of data, ${expansion} times its ${compressed} compressed bytes${arriving ? " read so far" : ""} beyond the first 64 MiB (set --max-size to bound it instead)`,
      ),
    );
  };
  if (maxSize === undefined) boundByCompressed(arriving ? 0 : (compressedSize ?? 0));
  const onHeader = (header: HeaderFacts) => {
    const most = ctx.formats.maxFileSizeOf(header.format, header.virtualSize, header.details);
    if (most !== undefined)
      bound(
        most,
        `it decompresses to more than the ${most} bytes a ${header.virtualSize}-byte ${header.format} image can be`,
      );
  };
  let compressedRead = 0;
  const writer = new ContentWriter(file, refuseNested);
  const report = (completed: boolean, decompressed = writer.bytes) =>
    settings.onEnded?.({
      kind,
      compressedSize: compressedSize ?? compressedRead,
      compressedRead,
      decompressed,
      completed,
    });
  const stop = new AbortController();
  let decoder: Awaited<ReturnType<typeof openDecoder>> | undefined;
  // The decoder itself is stopped too: the tar reader and gzip in-process do not watch the signal.
  const abort = () => (stop.abort(), decoder?.stop());
  ctx.signal.addEventListener("abort", abort, { once: true });
  try {
    decoder = await openDecoder(kind, arriving ? arriving.chunks() : { file: archive }, {
      limits: decoderLimits(allowed, settings.limits),
      signal: stop.signal,
      onRead: (bytes) => {
        compressedRead = bytes;
        if (maxSize === undefined && arriving) boundByCompressed(bytes);
        ctx.progress(bytes, compressedSize);
      },
      ...(settings.programs && { programs: settings.programs }),
    });
    if (decoder.pid !== undefined) settings.onDecoder?.(decoder.pid);
    if (ctx.signal.aborted) abort();
    const pace = new Pace(() => file.written);
    let settled = false;
    // Handed over once the head is judged safe, or once the inspector waits for the end.
    const handOver = () => {
      const chosen = !settled && handover?.take() ? handover.chosen : undefined;
      if (!chosen || !handover) return;
      stop.abort();
      decoder?.stop();
      handover.start(file, `${file.path}-whole`, (signal) =>
        decodeFile(archive, `${file.path}-whole`, {
          maxBytes: chosen.bytes,
          limits: decoderLimits(chosen.bytes, settings.limits),
          signal: AbortSignal.any([signal, ctx.signal]),
          tooLarge: chosen.tooLarge,
          ...(settings.programs?.zst && { program: settings.programs.zst }),
          ...(settings.onDecoder && { onDecoder: settings.onDecoder }),
          onRead: (bytes) => ctx.progress((compressedRead = bytes), compressedSize),
        }),
      );
    };
    pace.whenFree(handOver);
    const reader = pace.reader(file.reader());
    const inspecting = inspectImage(handover ? handover.reader(reader) : reader, {
      ...ctx.formats.inspection(claim),
      ...(maxSize !== undefined && { maxSize }),
      onHeader,
      onHeadVerdict: handOver,
    });
    const done = () => ((settled = true), pace.finish());
    inspecting.then(done, done);
    const pumping = pump(decoder.output, file, writer, pace, stop.signal, handover);
    pumping.catch(() => undefined);
    const result = await inspecting;
    rejectUnsafe(result, source, "unpack");
    // A container the 4 KiB head did not show (a zstd skippable frame pushes its magic further).
    if (ctx.formats.detectedContainers().includes(result.format))
      throw new Refusal(
        "nested-container",
        `it holds an image of format ${result.format} inside: only one level is unpacked`,
      );
    if (handover?.started) {
      const path = await handover.finished();
      await pumping.catch(() => undefined);
      await file.remove();
      compressedRead = compressedSize ?? compressedRead;
      report(true, (await stat(path)).size);
      return { path, format: claim ?? result.format };
    }
    await pumping;
    await file.close();
    report(true);
    return { path: file.path, format: claim ?? result.format };
  } catch (error) {
    stop.abort();
    decoder?.stop();
    await decoder?.ended.catch(() => undefined);
    await file.remove();
    await handover?.cancel();
    report(false);
    if (ctx.signal.aborted) throw new DiskpipeError("aborted", `decompressing ${source} was aborted`);
    if ((error as NodeJS.ErrnoException | undefined)?.code === "EFBIG")
      throw refusalRejection(
        source,
        new Refusal("decompression-bomb", "it decompresses to more than a file can hold here"),
      );
    throw error instanceof Refusal ? refusalRejection(source, error) : error;
  } finally {
    ctx.signal.removeEventListener("abort", abort);
  }
}

/** The writer, holding back past the head window until the inspector lets it go on. */
function paced(writer: ContentWriter, pace: Pace): MemberSink {
  return {
    write: async (chunk) => {
      if (writer.bytes >= HEAD_WINDOW) await pace.permit();
      await writer.write(chunk);
    },
    hole: async (length) => {
      if (writer.bytes >= HEAD_WINDOW) await pace.permit();
      await writer.hole(length);
    },
  };
}

/** Refuses a head that is itself compressed or a tar (in a tar: a tar inside). */
async function refuseNested(head: Uint8Array): Promise<void> {
  const nested = await detectKind(memoryReader(head));
  if (nested)
    throw new Refusal(
      "nested-container",
      `it holds a ${nested} stream inside: only one level of compression (or a tar inside it) is unpacked`,
    );
}

/** The kind the file's (or the arriving download's) bytes show, which a `--container` claim must match. */
async function kindOf(image: string | ImageReader, source: string, container: string | undefined): Promise<Kind> {
  const reader = typeof image === "string" ? await openFileReader(image) : image;
  const kind = await detectKind(reader).finally(() => (reader === image ? undefined : reader.close()));
  const claimed = claimedKind(container);
  if (kind && (container === undefined || claimed === kind)) return kind;
  const seen = kind ? `a ${kind} stream` : "neither compressed nor a tar archive";
  throw refusalRejection(
    source,
    new Refusal("container-mismatch", `it was claimed to be ${container ?? "compressed"} but is ${seen}`),
  );
}

/** Pumps the decoded stream into the file: a tar's one member, or the stream itself. */
async function pump(
  output: AsyncIterable<Uint8Array>,
  file: GrowingFile,
  writer: ContentWriter,
  pace: Pace,
  stopped: AbortSignal,
  handover: Pick<Handover, "close"> | undefined,
): Promise<void> {
  const reader = new ChunkReader(output);
  try {
    const first = await reader.readExact(512);
    reader.unread(first);
    if (isTarHeader(first)) {
      handover?.close();
      await extractOne(reader, paced(writer, pace));
    } else {
      const sink = paced(writer, pace);
      for (let chunk = await reader.read(1 << 20); chunk && !stopped.aborted; chunk = await reader.read(1 << 20))
        await sink.write(chunk);
    }
    handover?.close();
    if (stopped.aborted) throw new DiskpipeError("aborted", "decompression was stopped");
    await writer.end();
  } catch (error) {
    file.fail(error);
    await reader.close().catch(() => undefined);
    throw error;
  }
}
