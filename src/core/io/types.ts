import type { ArrivingImage, JobContext, LocalImage } from "../context.ts";
import type { InspectResult } from "../inspect/types.ts";
import type { ImageReader } from "./reader.ts";

/** What a source hands the pipeline: a local file, and what it learned while fetching. */
export interface FetchedImage extends Omit<LocalImage, "arriving"> {
  /** `ALGO:HEX` of the bytes, when hashed while they streamed by. */
  hash?: string;
  /** The inspector's verdict, when the source inspected the bytes as they arrived. */
  inspection?: InspectResult;
  /** Set when the source handed the image on before its download completed (`handOn`). */
  arriving?: ArrivingDownload;
}

/** A download still going: read it as it arrives; `done` settles with its hash when every byte is in. */
export type ArrivingDownload = Omit<ArrivingImage, "complete"> & { done: Promise<{ hash?: string }> };

/**
 * Runs the inspector on bytes as they arrive. It rejects (with an ImageRejectedError) as soon
 * as the image is known to be unsafe or not what was claimed: the source then aborts the
 * download, removes what it wrote, and rethrows. It calls `limit` with the most bytes the
 * image may have (from `--max-size`, then from its header): the source must stop there and
 * fail with the limit's error, and refuse at once a declared length above it. It calls
 * `onHead` with the head detectors' verdict, when they found nothing to refuse, before it
 * waits for the image's end.
 */
export type StreamInspector = (
  reader: ImageReader,
  limit: (bytes: number, error: () => Error) => void,
  onHead?: (head: InspectResult) => void,
) => Promise<InspectResult>;

/**
 * Where images come from: a path, a URL, a store. The first driver whose `matches` accepts
 * the location fetches it.
 *
 * @example
 * ```ts
 * const pathSource: SourceDriver = { name: "path", matches: (l) => !l.includes("://"), fetch: async (l) => ({ path: l, temporary: false }) };
 * ```
 */
export interface SourceDriver {
  name: string;
  matches(location: string): boolean;
  /**
   * Makes the image available as a local file. A streaming source may call `inspect` on the
   * bytes as they arrive; `inspect` is absent when the image comes in a container.
   * `into`, when given, is where the job's output goes (a raw image claimed raw and converted
   * to raw): a source may write the image straight there, sparse, and return `into` as the
   * path, saving a temporary copy and a second pass. Sources that cannot just ignore it.
   * `handOn`, when given, is asked once the inspector has judged the head (at once when
   * there is no `inspect`): when it says yes, a streaming source may return before its
   * download completes, with `arriving` set. Sources that cannot just ignore it.
   */
  fetch(
    location: string,
    ctx: JobContext,
    inspect?: StreamInspector,
    into?: string,
    handOn?: (inspection: InspectResult | undefined) => boolean,
  ): Promise<FetchedImage>;
}

/** Where the converter writes, as a sink prepared it. */
export interface SinkTarget {
  path: string;
  /** An existing block device: written in place, never created or renamed. */
  blockDevice: boolean;
  /** The target accepts O_DIRECT (cache mode none). */
  directIo: boolean;
  /**
   * Set when `path` is a staging file in the job's work directory that `commit` sends
   * elsewhere (an HTTP PUT, a store). `finalDirectory`: a local directory the output must also
   * fit in once committed (a directory store), checked with the conversion directory.
   */
  staged?: { finalDirectory?: string };
}

/** One destination of one job: prepared before conversion, then committed or aborted. */
export interface Sink {
  target: SinkTarget;
  /** Makes the written output the destination (rename, upload). */
  commit(ctx: JobContext): Promise<void>;
  /** Removes whatever was written. Safe to call twice or after commit failed. */
  abort(): Promise<void>;
}

/**
 * Where images go: a path, a block device, a URL, a store.
 *
 * @example
 * ```ts
 * import { pathSink } from "./path-sink.ts";
 * const sink = await pathSink.open("/srv/out.qcow2", ctx);
 * ```
 */
export interface SinkDriver {
  name: string;
  matches(location: string): boolean;
  open(location: string, ctx: JobContext): Promise<Sink>;
}
