import { randomBytes } from "node:crypto";
import { mkdir, open, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Context } from "hono";
import { fitName } from "../core/io/file-name.ts";
import { moveNoClobber } from "../spool/claim.ts";
import { isIgnoredName, isSafeName } from "../spool/paths.ts";
import type { UploadTarget } from "./source.ts";
import { isMultipartForm, MultipartError, readFormUpToFile, type FormLimits } from "./multipart.ts";

/**
 * An upload refused: the HTTP status and the reason.
 *
 * @example
 * ```ts
 * throw new UploadError(413, "upload larger than 1048576 bytes");
 * ```
 */
export class UploadError extends Error {
  constructor(
    readonly status: 400 | 409 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Where an upload landed.
 *
 * @example
 * ```ts
 * const uploaded: Uploaded = { path: "incoming/qcow2/disk.vmdk", bytes: 131072 };
 * ```
 */
export interface Uploaded {
  /** Relative to the spool root: `incoming/<format>/<name>`. */
  path: string;
  bytes: number;
}

/** Room for `format` and `name` before the file, and a few fields a page may add. */
const FORM_LIMITS: FormLimits = { fields: 16, fieldBytes: 1024, fieldNameBytes: 100, headerBytes: 16 * 1024 };

/**
 * Checks an upload's format and name, and returns the folder it goes to. Names that could leave
 * the folder (`..`, `/`, `\`, absolute), hidden names, `.part` and `.json` are refused.
 *
 * @example
 * ```ts
 * uploadFolder({ incoming: "/srv/spool/incoming", targets: () => ["qcow2"] }, "qcow2", "disk.vmdk"); // "/srv/spool/incoming/qcow2"
 * ```
 */
export function uploadFolder(target: UploadTarget, format: string | undefined, name: string | undefined): string {
  if (!format || !target.targets().includes(format))
    throw new UploadError(400, `format must be one of: ${target.targets().join(", ")}`);
  if (!name) throw new UploadError(400, "a file name is required");
  if (!isSafeName(name) || isIgnoredName(name)) {
    throw new UploadError(
      400,
      "the file name must be a plain name: no '/', '\\' or '..', not hidden, not ending in .part or .json",
    );
  }
  return join(target.incoming, format);
}

/**
 * Streams an upload into `incoming/<format>/`: written as `.<name>.<random>.part` (ignored by
 * the watcher; `<name>` cut so the whole fits a file name), renamed to `<name>` when complete.
 * Over `maxBytes` the partial file is removed and the upload refused (413). Takes a raw body
 * (`?format=&name=`, or the `x-diskpipe-format` and `x-diskpipe-name` headers) or
 * multipart/form-data (`format`, optional `name`, then `file`), read by a streaming parser; a
 * malformed or cut-short form, more than 16 fields, a field value over 1 KiB or a field name over
 * 100 bytes is refused (400).
 *
 * @example
 * ```ts
 * declare const target: UploadTarget;
 * declare const app: import("hono").Hono;
 * app.post("/upload", async (c) => c.json(await receiveUpload(c, target, 64 * 1024 ** 3), 201));
 * ```
 */
export async function receiveUpload(c: Context, target: UploadTarget, maxBytes: number): Promise<Uploaded> {
  const declared = Number(c.req.header("content-length") ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes + 64 * 1024)
    throw new UploadError(413, `upload larger than ${maxBytes} bytes`);
  const body = c.req.raw.body;
  if (!body) throw new UploadError(400, "the upload has no body");
  const contentType = c.req.header("content-type");
  if (!isMultipartForm(contentType)) {
    try {
      const format = c.req.query("format") ?? c.req.header("x-diskpipe-format");
      const name = c.req.query("name") ?? c.req.header("x-diskpipe-name") ?? "";
      return await store(
        uploadFolder(target, format, name),
        `incoming/${format}/${name}`,
        name,
        chunksOf(body),
        maxBytes,
      );
    } finally {
      await body.cancel().catch(() => {});
    }
  }
  const form = await readFormUpToFile(body, contentType ?? "", FORM_LIMITS).catch(refusal);
  try {
    if (!form.file) throw new UploadError(400, "the form has no file");
    const format = form.fields.get("format")?.trim();
    const name = form.fields.get("name")?.trim() || form.file.filename;
    return await store(
      uploadFolder(target, format, name),
      `incoming/${format}/${name}`,
      name,
      form.file.content,
      maxBytes,
    ).catch(refusal);
  } finally {
    form.close();
  }
}

/** A form the parser refused is the uploader's mistake (400); anything else is passed on. */
function refusal(error: unknown): never {
  throw error instanceof MultipartError ? new UploadError(400, error.message) : error;
}

async function* chunksOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

async function store(
  folder: string,
  label: string,
  name: string,
  chunks: AsyncIterable<Uint8Array>,
  maxBytes: number,
): Promise<Uploaded> {
  const part = join(folder, fitName(`.${name}`, `.${randomBytes(4).toString("hex")}.part`));
  const final = join(folder, name);
  await mkdir(folder, { recursive: true });
  const file = await open(part, "wx", 0o644);
  let bytes = 0;
  let kept = false;
  try {
    for await (const chunk of chunks) {
      bytes += chunk.byteLength;
      if (bytes > maxBytes) throw new UploadError(413, `upload larger than ${maxBytes} bytes`);
      await file.write(chunk);
    }
    await file.sync();
    await file.close();
    await moveNoClobber(part, final).catch((error: NodeJS.ErrnoException) => {
      if (error.code === "EEXIST") throw new UploadError(409, `${label} already exists`);
      throw error;
    });
    kept = true;
    return { path: label, bytes };
  } finally {
    await file.close().catch(() => {});
    if (!kept) await rm(part, { force: true });
  }
}
