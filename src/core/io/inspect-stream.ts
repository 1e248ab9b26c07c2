import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { DiskpipeError, UsageError } from "../errors.ts";
import { inspectImage } from "../inspect/index.ts";
import type { InspectOptions, InspectResult } from "../inspect/types.ts";
import { boundDownload, type SizeBounds } from "./download-limits.ts";
import { GrowingFile } from "./growing-file.ts";
import { OWNER_TAG, workRootFor } from "./temp.ts";
import { privateDirectory } from "./work-root.ts";
import { download } from "./http-download.ts";
import { redactUrl } from "./http.ts";

/** Something that yields an image's bytes in order: a Node Readable, a web ReadableStream, any async iterable. */
export type ImageStream = AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;

/**
 * Inspects an image from a stream as its bytes arrive, spooled to a private temporary file
 * (memory stays bounded), and stops reading as soon as the verdict is in. The temporary file
 * is always removed.
 *
 * @example
 * ```ts
 * import { createReadStream } from "node:fs";
 * const result = await inspectStream(createReadStream("disk.qcow2"), { claimed: "qcow2" });
 * ```
 */
export async function inspectStream(
  stream: ImageStream,
  options: InspectOptions = {},
  where: { directory?: string; size?: number } = {},
): Promise<InspectResult> {
  const directory = where.directory ?? workRootFor(undefined);
  await privateDirectory(directory, "workDir");
  const file = await GrowingFile.create(join(directory, `inspect-${OWNER_TAG}-${randomBytes(4).toString("hex")}`));
  if (where.size !== undefined) file.expect(where.size);
  let settled = false;
  const inspection = inspectImage(file.reader(), options).finally(() => (settled = true));
  const pump = (async () => {
    try {
      for await (const chunk of stream as AsyncIterable<Uint8Array>) {
        if (settled) break;
        await file.append(chunk);
      }
      await file.finish();
    } catch (error) {
      file.fail(
        new DiskpipeError("fetch-failed", `reading the image stream failed: ${(error as Error).message}`, {
          cause: error,
        }),
      );
    }
  })();
  try {
    return await inspection;
  } finally {
    settled = true;
    await file.remove();
    await pump;
  }
}

/**
 * How {@link inspectUrl} fetches: the download settings (`fetch` in the configuration) and
 * the bounds of the formats that may arrive.
 *
 * @example
 * ```ts
 * const settings: UrlInspection = { directory: "/var/tmp/diskpipe", timeoutMs: 10_000, formats: pipeline.formats };
 * ```
 */
export interface UrlInspection {
  signal?: AbortSignal;
  /** Where the bytes are spooled while the inspector reads them (a private directory; default: the default work root). */
  directory?: string;
  /** Idle timeout in ms (default 30 s). */
  timeoutMs?: number;
  /** Attempts after a dropped connection (default 2). */
  retries?: number;
  /** Longest the download may take in ms (default 6 h). */
  deadlineMs?: number;
  allowRedirects?: readonly string[];
  /** Format bounds: the download stops once it passes what the image's header allows. */
  formats?: SizeBounds;
}

/**
 * Inspects an image at an http(s) URL, reading only as much of the download as the verdict
 * needs. The verdict comes from the bytes: a length the server does not announce is learned at
 * the end, never taken as 0. The download follows the same rules as a job's (redirect policy,
 * idle timeout, deadline) and stops once it passes `--max-size` or what its header allows.
 *
 * @example
 * ```ts
 * const result = await inspectUrl("http://127.0.0.1:8080/disk.qcow2");
 * ```
 */
export async function inspectUrl(
  url: string,
  options: InspectOptions = {},
  settings: AbortSignal | UrlInspection = {},
): Promise<InspectResult> {
  const how: UrlInspection = settings instanceof AbortSignal ? { signal: settings } : settings;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`invalid URL: ${url}`);
  }
  const directory = how.directory ?? workRootFor(undefined);
  await privateDirectory(directory, "workDir");
  const file = await GrowingFile.create(join(directory, `inspect-${OWNER_TAG}-${randomBytes(4).toString("hex")}`));
  const controller = new AbortController();
  const stop = () => controller.abort(how.signal?.reason);
  how.signal?.addEventListener("abort", stop, { once: true });
  const downloading = download(parsed, file, {
    timeoutMs: how.timeoutMs ?? 30_000,
    retries: how.retries ?? 2,
    backoffMs: 500,
    deadlineMs: how.deadlineMs ?? 6 * 60 * 60 * 1000,
    ...(how.allowRedirects && { allowRedirects: how.allowRedirects }),
    algorithm: "sha256",
    signal: controller.signal,
  }).catch((error: unknown) => file.fail(error));
  const onHeader = how.formats
    ? boundDownload(redactUrl(parsed), how.formats, options.maxSize, (bytes, error) => file.limit(bytes, error))
    : undefined;
  try {
    return await inspectImage(file.reader(), { ...options, ...(onHeader && { onHeader }) });
  } finally {
    how.signal?.removeEventListener("abort", stop);
    controller.abort(new Error("the inspection has finished"));
    await downloading;
    await file.remove();
  }
}
