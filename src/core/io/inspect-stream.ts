import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DiskpipeError } from "../errors.ts";
import { inspectImage } from "../inspect/index.ts";
import type { InspectOptions, InspectResult } from "../inspect/types.ts";
import { GrowingFile } from "./growing-file.ts";
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
 * const result = await inspectStream(createReadStream("disk.qcow2"), { claimed: "qcow2" });
 * ```
 */
export async function inspectStream(
  stream: ImageStream,
  options: InspectOptions = {},
  where: { directory?: string; size?: number } = {},
): Promise<InspectResult> {
  const directory = where.directory ?? join(tmpdir(), "diskpipe");
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const file = await GrowingFile.create(join(directory, `inspect-${process.pid}-${randomBytes(4).toString("hex")}`));
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
      file.fail(new DiskpipeError("fetch-failed", `reading the image stream failed: ${(error as Error).message}`, { cause: error }));
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
 * Inspects an image at an http(s) URL, reading only as much of the download as the verdict
 * needs.
 *
 * @example
 * ```ts
 * const result = await inspectUrl("http://127.0.0.1:8080/disk.qcow2");
 * ```
 */
export async function inspectUrl(url: string, options: InspectOptions = {}, signal?: AbortSignal): Promise<InspectResult> {
  const controller = new AbortController();
  signal?.addEventListener("abort", () => controller.abort(signal.reason), { once: true });
  let response: Response;
  try {
    response = await fetch(url, { signal: controller.signal, redirect: "follow" });
  } catch (error) {
    throw new DiskpipeError("fetch-failed", `cannot fetch ${redactUrl(url)}: ${(error as Error).message}`, { cause: error });
  }
  if (!response.ok || !response.body) throw new DiskpipeError("fetch-failed", `cannot fetch ${redactUrl(url)}: HTTP ${response.status}`);
  const length = Number(response.headers.get("content-length"));
  try {
    return await inspectStream(response.body, options, Number.isSafeInteger(length) && length >= 0 ? { size: length } : {});
  } finally {
    controller.abort();
  }
}
