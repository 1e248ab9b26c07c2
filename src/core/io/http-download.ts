import { createHash, type Hash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { DiskpipeError } from "../errors.ts";
import { formatSize } from "../size.ts";
import type { GrowingFile } from "./growing-file.ts";
import type { HashAlgorithm } from "./hash.ts";
import { HttpStatusError, isTransient, redactUrl, send } from "./http.ts";
import { contentLength, parseContentRange, strongValidator } from "./http-headers.ts";
import { namesLocalHost } from "./redirects.ts";
import { ensureRoom, keepReserve } from "./download-space.ts";
import { rateLimiterFor } from "./throttle.ts";
import { WriteBehind } from "./write-behind.ts";
import { changed, describe, fetchError, late, spaceError } from "./download-errors.ts";

/** Bytes a download may queue for the disk before it stops reading the socket. */
// Stryker disable next-line ArithmeticOperator: only how much memory waits for the disk; the same bytes are written in the same order
const WRITE_BEHIND = 16 * 1024 * 1024;
/** How often a download of unannounced length checks the free space it must leave. */
const SPACE_CHECK = 64 * 1024 * 1024;

/**
 * How a download behaves.
 *
 * @example
 * ```ts
 * const signal = AbortSignal.timeout(3_600_000);
 * const options: DownloadOptions = { timeoutMs: 30_000, retries: 5, backoffMs: 500, algorithm: "sha256", signal };
 * ```
 */
export interface DownloadOptions {
  /** Idle timeout in ms: connecting, waiting for the answer, between chunks. */
  timeoutMs: number;
  /** Attempts after a failure; the count starts again whenever an attempt brought bytes. */
  retries: number;
  /** First pause between attempts, doubled each time (capped at 30 s). */
  backoffMs: number;
  /** Longest the whole download may take, retries included (`fetch.deadlineMs`). */
  deadlineMs?: number;
  /** Hosts a redirect may lead to besides the URL's own (`fetch.allowRedirects`). */
  allowRedirects?: readonly string[];
  /** Refuse hosts that resolve to loopback or link-local addresses, the first URL's too. */
  refuseLocalHosts?: boolean;
  bytesPerSecond?: number;
  /** The hash computed on the way. */
  algorithm: HashAlgorithm;
  signal: AbortSignal;
  onProgress?: (bytes: number, total?: number) => void;
  /** Told about resumes and restarts. */
  onNotice?: (message: string) => void;
}

/**
 * What a finished download learned.
 *
 * @example
 * ```ts
 * declare const url: URL, file: GrowingFile, options: DownloadOptions;
 * const { hash, size }: DownloadResult = await download(url, file, options); // hash: "sha256:…"
 * ```
 */
export interface DownloadResult {
  /** `ALGO:HEX` of every byte of the file. */
  hash: string;
  size: number;
}

/**
 * Streams `url` into a growing file, hashing in the same pass. A dropped connection resumes
 * with `Range: bytes=N-` (guarded by `If-Range` with the first answer's ETag or Last-Modified);
 * a server that ignores Range is read again from the start with a fresh hash, and the bytes
 * already on disk must match what it sends again. Fails with `fetch-failed` (HTTP status or
 * network error in the message) or `no-space` (where and how much).
 *
 * @example
 * ```ts
 * import { GrowingFile } from "./growing-file.ts";
 * const path = "/var/tmp/diskpipe/fetch-1/image", signal = AbortSignal.timeout(3_600_000);
 * const file = await GrowingFile.create(path);
 * const { hash } = await download(new URL("https://h/img.qcow2"), file, { timeoutMs: 30_000, retries: 5, backoffMs: 500, algorithm: "sha256", signal });
 * ```
 */
export async function download(url: URL, file: GrowingFile, options: DownloadOptions): Promise<DownloadResult> {
  const state: State = { first: url, url, hash: createHash(options.algorithm), validator: undefined, total: undefined };
  const pace = rateLimiterFor(options.bytesPerSecond);
  const deadline = new AbortController();
  const { deadlineMs } = options;
  const timer =
    deadlineMs === undefined ? undefined : setTimeout(() => deadline.abort(late(url, deadlineMs)), deadlineMs);
  const run: DownloadOptions = { ...options, signal: AbortSignal.any([options.signal, deadline.signal]) };
  let failures = 0;
  try {
    for (;;) {
      run.signal.throwIfAborted();
      const before = file.written;
      try {
        if (await attempt(state, file, run, pace)) break;
      } catch (error) {
        if (run.signal.aborted) throw run.signal.reason ?? error;
        if (file.written > before) failures = 0;
        if (!isTransient(error) || failures >= options.retries) throw fetchError(error, state.url, file, failures);
        failures++;
        options.onNotice?.(
          `download of ${redactUrl(url)} interrupted at ${formatSize(file.written)} (${describe(error)}); retry ${failures} of ${options.retries}`,
        );
        // The pause ends early only when the job is aborted or the deadline passes: that is the error.
        const pause = Math.min(30_000, options.backoffMs * 2 ** (failures - 1));
        // Stryker disable next-line BlockStatement: an emptied catch goes on to the loop's throwIfAborted, which throws the same reason
        await sleep(pause, undefined, { signal: run.signal }).catch(() => {
          throw run.signal.reason;
        });
      }
    }
  } finally {
    clearTimeout(timer);
  }
  await file.finish();
  return { hash: `${options.algorithm}:${state.hash.digest("hex")}`, size: file.written };
}

interface State {
  /** The URL asked for. */
  first: URL;
  /** Where the content was found (after redirects); resumes go there. */
  url: URL;
  hash: Hash;
  /** ETag or Last-Modified of the first answer, sent back as If-Range. */
  validator: string | undefined;
  total: number | undefined;
}

/** One request; true when the file is complete. */
async function attempt(
  state: State,
  file: GrowingFile,
  options: DownloadOptions,
  pace: ReturnType<typeof rateLimiterFor>,
): Promise<boolean> {
  const offset = file.written;
  const headers: Record<string, string> = { "accept-encoding": "identity" };
  if (offset > 0) {
    headers.range = `bytes=${offset}-`;
    if (state.validator) headers["if-range"] = state.validator;
  }
  // A resume goes straight to where a redirect led: its host is resolved with the redirect guard too.
  const redirected = state.url.href !== state.first.href && !namesLocalHost(state.first);
  const { response, idle, url } = await send(state.url, {
    headers,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    ...(options.allowRedirects && { allowRedirects: options.allowRedirects }),
    ...((redirected || options.refuseLocalHosts === true) && { guardLookup: true }),
  });
  try {
    const status = response.statusCode ?? 0;
    let replay = 0;
    if (offset > 0 && status === 206) {
      const range = parseContentRange(response.headers["content-range"]);
      const shrunk = range?.total !== undefined && range.total < offset;
      if (
        !range ||
        range.start !== offset ||
        shrunk ||
        (state.total !== undefined && range.total !== undefined && range.total !== state.total)
      ) {
        throw new DiskpipeError(
          "fetch-failed",
          `${redactUrl(url)} answered a resume at byte ${offset} with Content-Range ${response.headers["content-range"] ?? "(none)"}`,
        );
      }
      if (state.total === undefined && range.total !== undefined) {
        state.total = range.total;
        file.expect(range.total);
        await ensureRoom(file, range.total - offset, url);
      }
      // Stryker disable next-line ConditionalExpression,EqualityOperator: a total equal to the offset is known only after a first answer completed the file, so offset 0 never gets here
    } else if (offset > 0 && status === 416 && state.total === offset) {
      return true;
    } else if (status === 200) {
      const length = contentLength(response.headers["content-length"]);
      if (offset > 0) {
        if (length !== undefined && state.total !== undefined && length !== state.total) throw changed(url);
        options.onNotice?.(`${redactUrl(url)} ignored the Range request: reading it again from the start`);
        state.hash = createHash(options.algorithm);
        replay = offset;
      } else {
        state.url = url;
        state.validator = strongValidator(response.headers.etag) ?? response.headers["last-modified"];
        if (length !== undefined) {
          state.total = length;
          file.expect(length);
          await ensureRoom(file, length, url);
        }
      }
    } else {
      throw new HttpStatusError("GET", url, status, response.statusMessage);
    }

    // The offset of this answer's first byte in the file, and of its next chunk within the
    // answer: replayed bytes are compared, new ones queued for the disk.
    const start = status === 206 ? offset : 0;
    let position = 0;
    let checkSpaceAt = offset + SPACE_CHECK;
    // Chunks are written behind the socket (queued while the previous write is out), so
    // receiving never waits for the disk unless WRITE_BEHIND bytes are queued.
    const behind = new WriteBehind(file, WRITE_BEHIND, () => options.onProgress?.(file.written, state.total));
    const flush = () =>
      behind.flush().catch((error: unknown) => {
        throw spaceError(error, file, state.total, url);
      });
    try {
      for await (const received of response) {
        idle.kick();
        let chunk = received as Buffer;
        if (pace) {
          idle.pause();
          await pace.take(chunk.length, options.signal);
          idle.kick();
        }
        // Stryker disable next-line EqualityOperator: with replay equal to position the overlap is empty and the chunk goes on unchanged
        if (replay > position) {
          const overlap = Math.min(chunk.length, replay - position);
          const before = await file.readBack(position, overlap);
          if (Buffer.compare(before, chunk.subarray(0, overlap)) !== 0) throw changed(url);
          state.hash.update(chunk.subarray(0, overlap));
          position += overlap;
          chunk = chunk.subarray(overlap);
          if (chunk.length === 0) continue;
        }
        state.hash.update(chunk);
        if (state.total !== undefined && start + position + chunk.length > state.total) {
          throw new DiskpipeError(
            "fetch-failed",
            `${redactUrl(url)} sent more than the ${state.total} bytes it announced`,
          );
        }
        position += chunk.length;
        if (state.total === undefined && start + position >= checkSpaceAt) {
          checkSpaceAt = start + position + SPACE_CHECK;
          await keepReserve(file, url);
        }
        await behind.push(chunk).catch((error: unknown) => {
          throw spaceError(error, file, state.total, url);
        });
      }
    } catch (error) {
      // What arrived before a drop is good: it must be on disk before a resume asks for the rest.
      if (isTransient(error)) await flush();
      else await behind.flush().catch(() => undefined);
      throw error;
    }
    await flush();
    if (replay > position) throw changed(url);
    if (state.total !== undefined && file.written < state.total) {
      throw Object.assign(new Error(`connection closed after ${file.written} of ${state.total} bytes`), {
        code: "ECONNRESET",
      });
    }
    return true;
  } finally {
    idle.stop();
    if (!response.complete) response.destroy();
  }
}
