import { open, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { DiskpipeError, UsageError, isDiskpipeError } from "../errors.ts";
import { HttpStatusError, isHttpUrl, isTransient, redactUrl, send } from "./http.ts";
import { recheckOutput } from "./output-check.ts";
import { rateLimiterFor } from "./throttle.ts";
import type { SinkDriver } from "./types.ts";

/**
 * Options of {@link httpSink} and {@link putFile}.
 *
 * @example
 * ```ts
 * const sink = httpSink({ timeoutMs: 30_000, retries: 2, bytesPerSecond: 50e6 });
 * ```
 */
export interface HttpSinkOptions {
  /** Idle timeout in ms (connect, sending, waiting for the answer). */
  timeoutMs: number;
  /** Attempts after a dropped connection or a retryable status (the whole body is sent again). */
  retries: number;
  /** First pause between attempts (doubled each time). Default 500 ms. */
  backoffMs?: number;
  bytesPerSecond?: number;
  /** Refuse hosts that resolve to loopback or link-local addresses (`fetch.refuseLocalHosts`). */
  refuseLocalHosts?: boolean;
}

const CHUNK = 1024 * 1024;

/**
 * `http://` and `https://` destinations: the output is written in the job's work directory,
 * re-inspected (it must be a safe image of the target format), then sent with one streamed
 * `PUT` (Content-Length set, never held in memory). A refused or failed PUT is `upload-failed`.
 *
 * @example
 * ```ts
 * const sink = await httpSink({ timeoutMs: 30_000, retries: 2 }).open("https://store/put/disk.qcow2", ctx);
 * // … convert into sink.target.path …
 * await sink.commit(ctx);
 * ```
 */
export function httpSink(options: HttpSinkOptions): SinkDriver {
  return {
    name: "http",
    matches: isHttpUrl,
    async open(location, ctx) {
      let url: URL;
      try {
        url = new URL(location);
      } catch {
        throw new UsageError(`invalid URL: ${location}`);
      }
      const staged = join(ctx.workDir, `upload.${ctx.formats.extensionOf(ctx.spec.to)}`);
      return {
        target: { path: staged, blockDevice: false, directIo: false, staged: {} },
        async commit(job) {
          await recheckOutput(staged, job);
          await putFile(url, staged, {
            ...options,
            signal: job.signal,
            onProgress: (bytes, total) => job.progress(bytes, total),
          });
          await rm(staged, { force: true });
        },
        abort: () => rm(staged, { force: true }),
      };
    },
  };
}

/**
 * Sends a file with `PUT`, streamed from disk with its Content-Length, paced to
 * `bytesPerSecond`, retried on dropped connections and retryable statuses. Any other answer
 * than 2xx is `upload-failed` with the status in the message.
 *
 * @example
 * ```ts
 * await putFile(new URL("http://127.0.0.1:8080/put/a.qcow2"), "out.qcow2", { timeoutMs: 10_000, retries: 0 });
 * ```
 */
export async function putFile(
  url: URL,
  path: string,
  options: HttpSinkOptions & { signal?: AbortSignal; onProgress?: (bytes: number, total: number) => void },
): Promise<void> {
  const size = (await stat(path)).size;
  for (let failures = 0; ; failures++) {
    try {
      const { response } = await send(url, {
        method: "PUT",
        headers: { "content-length": String(size), "content-type": "application/octet-stream" },
        timeoutMs: options.timeoutMs,
        ...(options.signal && { signal: options.signal }),
        ...(options.refuseLocalHosts && { guardLookup: true }),
        body: Readable.from(fileChunks(path, size, options)),
      });
      response.resume();
      const status = response.statusCode ?? 0;
      if (status < 200 || status > 299) throw new HttpStatusError("PUT", url, status, response.statusMessage);
      await new Promise<void>((resolve, reject) => {
        if (response.complete) return resolve();
        response.on("end", resolve).on("error", reject);
      });
      return;
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason ?? error;
      if (!isTransient(error) || failures >= options.retries) throw uploadError(error, url, failures);
      await sleep(
        Math.min(30_000, (options.backoffMs ?? 500) * 2 ** failures),
        undefined,
        options.signal && { signal: options.signal },
      );
    }
  }
}

async function* fileChunks(
  path: string,
  size: number,
  options: { bytesPerSecond?: number; signal?: AbortSignal; onProgress?: (bytes: number, total: number) => void },
): AsyncGenerator<Buffer> {
  const pace = rateLimiterFor(options.bytesPerSecond);
  const handle = await open(path, "r");
  try {
    let offset = 0;
    while (offset < size) {
      const buffer = Buffer.allocUnsafe(Math.min(CHUNK, size - offset));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
      if (bytesRead === 0) throw new Error(`${path} shrank while it was being sent`);
      await pace?.take(bytesRead, options.signal);
      offset += bytesRead;
      yield buffer.subarray(0, bytesRead);
      options.onProgress?.(offset, size);
    }
  } finally {
    await handle.close();
  }
}

function uploadError(error: unknown, url: URL, failures: number): DiskpipeError {
  if (isDiskpipeError(error)) return error;
  const tries = failures > 0 ? ` (after ${failures + 1} attempts)` : "";
  const message =
    error instanceof HttpStatusError
      ? error.message
      : `PUT ${redactUrl(url)} failed: ${error instanceof Error ? error.message : String(error)}`;
  return new DiskpipeError("upload-failed", `${message}${tries}`, { cause: error });
}
