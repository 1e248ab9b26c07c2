import { rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { JobContext } from "../context.ts";
import { UsageError } from "../errors.ts";
import { fetchCache, type CacheEntryInit, type FetchCache, type Lease } from "./fetch-cache.ts";
import { GrowingFile } from "./growing-file.ts";
import { parseChecksum, type HashAlgorithm } from "./hash.ts";
import { download, type DownloadResult } from "./http-download.ts";
import { isHttpUrl, redactUrl } from "./http.ts";
import { makeFetchDir, temporaryKey, untilAborted } from "./temporary-image.ts";
import type { FetchedImage, SourceDriver, StreamInspector } from "./types.ts";
import type { InspectResult } from "../inspect/types.ts";
import { arrivingChunks } from "./arriving.ts";

/**
 * Options of {@link httpSource} (the configuration's `fetch` and `throttle` sections).
 *
 * @example
 * ```ts
 * const source = httpSource({ timeoutMs: 10_000, retries: 3, backoffMs: 250 });
 * ```
 */
export interface HttpSourceOptions {
  /** Idle timeout in ms (connect, answer, between chunks). */
  timeoutMs: number;
  /** Attempts after a dropped connection or a retryable status. */
  retries: number;
  /** First pause between attempts (doubled each time). Default 500 ms. */
  backoffMs?: number;
  /** Longest a whole download may take (`fetch.deadlineMs`); none when absent. */
  deadlineMs?: number;
  /** Hosts a redirect may lead to besides the URL's own (`fetch.allowRedirects`). */
  allowRedirects?: readonly string[];
  /** Refuse hosts that resolve to loopback or link-local addresses, the first URL's too (`fetch.refuseLocalHosts`). */
  refuseLocalHosts?: boolean;
  bytesPerSecond?: number;
  /** Shares downloads between jobs; default: the process-wide cache. */
  cache?: FetchCache;
}

interface Download {
  file: Promise<GrowingFile>;
  result: Promise<DownloadResult & { path: string }>;
  listeners: Set<(bytes: number, total?: number) => void>;
  notices: Set<(message: string) => void>;
}

/**
 * `http://` and `https://` sources. The image streams into a temporary file beside the jobs'
 * work directories while the inspector reads its header from the bytes already in (a hostile
 * image stops the download at once), hashed in the same pass; dropped connections resume with
 * Range requests. A URL fetched once is shared by every job of the same work root that asks
 * for it while it is in use (or while a batch holds the cache), and removed after the last.
 *
 * @example
 * ```ts
 * const source = httpSource({ timeoutMs: 30_000, retries: 5 });
 * declare const inspector: StreamInspector;
 * const image = await source.fetch("https://images.example/disk.qcow2", ctx, inspector);
 * image.hash; // "sha256:…"
 * ```
 */
export function httpSource(options: HttpSourceOptions): SourceDriver {
  const cache = options.cache ?? fetchCache;
  return {
    name: "http",
    matches: isHttpUrl,
    async fetch(location, ctx, inspect, into, handOn) {
      const url = parseHttpUrl(location);
      const algorithm = ctx.spec.checksum ? parseChecksum(ctx.spec.checksum).algorithm : "sha256";
      if (into)
        return consume(
          ownLease(startDownload(url, { file: GrowingFile.create(into, { sparse: true }) }, { ...options, algorithm })),
          ctx,
          inspect,
        );
      const workRoot = dirname(ctx.workDir);
      const lease = cache.acquire(temporaryKey(workRoot, location), () => {
        const dir = makeFetchDir(workRoot);
        return startDownload(
          url,
          { file: dir.then((d) => GrowingFile.create(join(d, "image"))), dir },
          { ...options, algorithm },
        );
      });
      return consume(lease, ctx, inspect, handOn);
    },
  };
}

function parseHttpUrl(location: string): URL {
  try {
    return new URL(location);
  } catch {
    throw new UsageError(`invalid URL: ${location}`);
  }
}

/**
 * Starts a download into `place.file`; disposing of it stops the transfer and removes the file
 * and `place.dir`, the directory made for it, if any.
 */
function startDownload(
  url: URL,
  place: { file: Promise<GrowingFile>; dir?: Promise<string> },
  options: HttpSourceOptions & { algorithm: HashAlgorithm },
): CacheEntryInit<Download> {
  const controller = new AbortController();
  const listeners = new Set<(bytes: number, total?: number) => void>();
  const notices = new Set<(message: string) => void>();
  const { file } = place;
  const result = file.then(async (growing) => {
    try {
      const done = await download(url, growing, {
        timeoutMs: options.timeoutMs,
        retries: options.retries,
        backoffMs: options.backoffMs ?? 500,
        ...(options.deadlineMs !== undefined && { deadlineMs: options.deadlineMs }),
        ...(options.allowRedirects && { allowRedirects: options.allowRedirects }),
        ...(options.refuseLocalHosts && { refuseLocalHosts: true }),
        ...(options.bytesPerSecond && { bytesPerSecond: options.bytesPerSecond }),
        algorithm: options.algorithm,
        signal: controller.signal,
        onProgress: (bytes, total) => listeners.forEach((listener) => listener(bytes, total)),
        onNotice: (message) => notices.forEach((notice) => notice(message)),
      });
      return { ...done, path: growing.path };
    } catch (error) {
      growing.fail(error);
      throw error;
    }
  });
  result.catch(() => undefined);
  file.catch(() => undefined);
  return {
    value: { file, result, listeners, notices },
    ready: result,
    async dispose() {
      controller.abort(new Error(`the download of ${redactUrl(url)} is no longer needed`));
      await result.catch(() => undefined);
      await (await file.catch(() => undefined))?.remove();
      await place.dir?.then((dir) => rm(dir, { recursive: true, force: true })).catch(() => undefined);
    },
  };
}

/**
 * A download only this job uses (straight into its output), held like a cache lease: released
 * when the inspector or the transfer fails (the file goes), or at the job's cleanup, after the
 * output was renamed or removed (which closes the file).
 */
function ownLease(entry: CacheEntryInit<Download>): Lease<Download> {
  let released: Promise<void> | undefined;
  return { value: entry.value, ready: entry.ready, first: true, release: () => (released ??= entry.dispose()) };
}

/**
 * One job's use of a (possibly shared) download: its own inspection, progress and release.
 * When `handOn` accepts the inspector's verdict on the head, the image is returned while the
 * download goes on (`arriving`); the job's cleanup releases the lease in either case.
 */
async function consume(
  lease: Lease<Download>,
  ctx: JobContext,
  inspect: StreamInspector | undefined,
  handOn?: (inspection: InspectResult | undefined) => boolean,
): Promise<FetchedImage> {
  const { value } = lease;
  const progress = (bytes: number, total?: number) => ctx.progress(bytes, total);
  const notice = (message: string) => ctx.warn(message);
  value.listeners.add(progress);
  value.notices.add(notice);
  let noticesUntilDone = false;
  try {
    const file = await value.file;
    let headSeen: (head: InspectResult) => void = () => undefined;
    const headVerdict = new Promise<InspectResult>((resolve) => (headSeen = resolve));
    const inspecting = inspect
      ? inspect(file.reader(), (bytes, error) => file.limit(bytes, error), handOn && headSeen)
      : Promise.resolve(undefined);
    inspecting.catch(() => undefined);
    if (handOn) {
      // The head's verdict, or the whole one when the inspector needed no tail (or the end came first).
      const head = await untilAborted(Promise.race([inspecting, headVerdict]), ctx.signal);
      if (!file.finished && handOn(head)) {
        ctx.onCleanup(() => lease.release());
        noticesUntilDone = true;
        // Every byte in, and the whole inspection (the tail detectors) passed.
        const done = Promise.all([value.result, inspecting]).then(([result]) => result);
        done.finally(() => value.notices.delete(notice)).catch(() => undefined);
        const size = file.expected;
        const arriving = { reader: file.reader(), chunks: () => arrivingChunks(file), done };
        return {
          path: file.path,
          temporary: false,
          ...(head && { inspection: head }),
          arriving: { ...arriving, ...(size !== undefined && { size }) },
        };
      }
    }
    const [done, inspection] = await untilAborted(Promise.all([value.result, inspecting]), ctx.signal);
    ctx.onCleanup(() => lease.release());
    return { path: done.path, temporary: false, hash: done.hash, ...(inspection && { inspection }) };
  } catch (error) {
    await lease.release();
    throw error;
  } finally {
    value.listeners.delete(progress);
    if (!noticesUntilDone) value.notices.delete(notice);
  }
}
