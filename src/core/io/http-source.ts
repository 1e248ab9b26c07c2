import { rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { JobContext } from "../context.ts";
import { UsageError } from "../errors.ts";
import { fetchCache, type CacheEntryInit, type FetchCache, type Lease } from "./fetch-cache.ts";
import { GrowingFile } from "./growing-file.ts";
import { parseChecksum, type HashAlgorithm } from "./hash.ts";
import { download, type DownloadResult } from "./http-download.ts";
import { redactUrl } from "./http.ts";
import { makeFetchDir, temporaryKey, untilAborted } from "./temporary-image.ts";
import type { FetchedImage, SourceDriver, StreamInspector } from "./types.ts";

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
 * const image = await source.fetch("https://images.example/disk.qcow2", ctx, inspect);
 * image.hash; // "sha256:…"
 * ```
 */
export function httpSource(options: HttpSourceOptions): SourceDriver {
  const cache = options.cache ?? fetchCache;
  return {
    name: "http",
    matches: (location) => /^https?:\/\//i.test(location),
    async fetch(location, ctx, inspect, into) {
      const url = parseHttpUrl(location);
      const algorithm = ctx.spec.checksum ? parseChecksum(ctx.spec.checksum).algorithm : "sha256";
      if (into) return downloadInto(url, into, ctx, inspect, { ...options, algorithm });
      const workRoot = dirname(ctx.workDir);
      const lease = cache.acquire(temporaryKey(workRoot, location), () => startDownload(url, workRoot, { ...options, algorithm }));
      return consume(lease, ctx, inspect);
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

function startDownload(url: URL, workRoot: string, options: HttpSourceOptions & { algorithm: HashAlgorithm }): CacheEntryInit<Download> {
  const controller = new AbortController();
  const listeners = new Set<(bytes: number, total?: number) => void>();
  const notices = new Set<(message: string) => void>();
  const dir = makeFetchDir(workRoot);
  const file = dir.then((d) => GrowingFile.create(join(d, "image")));
  const result = file.then(async (growing) => {
    try {
      const done = await download(url, growing, {
        ...transferOptions(options, controller.signal),
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
      await rm(await dir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}

function transferOptions(options: HttpSourceOptions & { algorithm: HashAlgorithm }, signal: AbortSignal) {
  return {
    timeoutMs: options.timeoutMs,
    retries: options.retries,
    backoffMs: options.backoffMs ?? 500,
    ...(options.bytesPerSecond && { bytesPerSecond: options.bytesPerSecond }),
    algorithm: options.algorithm,
    signal,
  };
}

/**
 * One job's download straight into its output (sparse, not shared): inspected and hashed as it
 * arrives like any other, removed when the inspector rejects it or the transfer fails.
 */
async function downloadInto(url: URL, path: string, ctx: JobContext, inspect: StreamInspector | undefined, options: HttpSourceOptions & { algorithm: HashAlgorithm }): Promise<FetchedImage> {
  const controller = new AbortController();
  const file = await GrowingFile.create(path, { sparse: true });
  const downloading = download(url, file, {
    ...transferOptions(options, AbortSignal.any([controller.signal, ctx.signal])),
    onProgress: (bytes, total) => ctx.progress(bytes, total),
    onNotice: (message) => ctx.warn(message),
  });
  downloading.catch((error: unknown) => file.fail(error));
  const inspecting = inspect ? inspect(file.reader()) : Promise.resolve(undefined);
  inspecting.catch(() => undefined);
  try {
    const [done, inspection] = await Promise.all([downloading, inspecting]);
    return { path, temporary: false, hash: done.hash, ...(inspection && { inspection }) };
  } catch (error) {
    controller.abort(error);
    await downloading.catch(() => undefined);
    await file.remove();
    throw error;
  }
}

/** One job's use of a (possibly shared) download: its own inspection, progress and release. */
async function consume(lease: Lease<Download>, ctx: JobContext, inspect: StreamInspector | undefined): Promise<FetchedImage> {
  const { value } = lease;
  const progress = (bytes: number, total?: number) => ctx.progress(bytes, total);
  const notice = (message: string) => ctx.warn(message);
  value.listeners.add(progress);
  value.notices.add(notice);
  try {
    const file = await value.file;
    const inspecting = inspect ? inspect(file.reader()) : Promise.resolve(undefined);
    inspecting.catch(() => undefined);
    const [done, inspection] = await untilAborted(Promise.all([value.result, inspecting]), ctx.signal);
    ctx.onCleanup(() => lease.release());
    return { path: done.path, temporary: false, hash: done.hash, ...(inspection && { inspection }) };
  } catch (error) {
    await lease.release();
    throw error;
  } finally {
    value.listeners.delete(progress);
    value.notices.delete(notice);
  }
}
