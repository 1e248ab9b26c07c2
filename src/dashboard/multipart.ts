import { Readable } from "node:stream";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import { Busboy, type BusboyFileStream } from "@fastify/busboy";

/**
 * A multipart/form-data body refused: malformed, cut short, or over a limit. The message is one
 * line meant for the uploader.
 *
 * @example
 * ```ts
 * throw new MultipartError("the form has more than 16 fields");
 * ```
 */
export class MultipartError extends Error {}

/**
 * The bounds a form is read within.
 *
 * @example
 * ```ts
 * const limits: FormLimits = { fields: 16, fieldBytes: 1024, fieldNameBytes: 100, headerBytes: 16 * 1024 };
 * ```
 */
export interface FormLimits {
  /** Most text fields before the file. */
  fields: number;
  /** Longest text field value, in bytes. */
  fieldBytes: number;
  /** Longest field name, in bytes. */
  fieldNameBytes: number;
  /** Most header bytes of one part; longer headers are cut there. */
  headerBytes: number;
}

/**
 * The text fields of a form up to its first file, and that file.
 *
 * @example
 * ```ts
 * import { open } from "node:fs/promises";
 * declare const body: ReadableStream<Uint8Array>, contentType: string, limits: FormLimits;
 * const form: FormUpTo = await readFormUpToFile(body, contentType, limits);
 * const out = await open("upload.part", "wx");
 * if (form.file) for await (const chunk of form.file.content) await out.write(chunk);
 * await out.close();
 * form.close();
 * ```
 */
export interface FormUpTo {
  /** Field name to value, in the order sent; a later field of the same name wins. */
  fields: ReadonlyMap<string, string>;
  /** Undefined when the form ended without a file part. */
  file?: {
    field: string;
    filename: string;
    /** The file's bytes as they arrive; throws a {@link MultipartError} when the body is cut short. */
    content: AsyncIterable<Uint8Array>;
  };
  /** Stops reading the body (what follows the file is not read). */
  close(): void;
}

const MAX_BOUNDARY = 70;

/**
 * Whether a content type is `multipart/form-data` (with or without a usable boundary).
 *
 * @example
 * ```ts
 * isMultipartForm("multipart/form-data; boundary=x"); // true
 * ```
 */
export function isMultipartForm(contentType: string | undefined): boolean {
  return contentType !== undefined && /^\s*multipart\/form-data\s*(;|$)/i.test(contentType);
}

/**
 * Reads a multipart/form-data body with a streaming parser (@fastify/busboy) until the first
 * part that carries a file name, and hands that file over as a stream: nothing of it is buffered
 * beyond the stream's high-water mark, and the body is read only as fast as the file is consumed.
 * Parts without a file name are text fields. Throws a {@link MultipartError} for a missing or
 * over-long boundary, a body cut short, a field name or value over its limit, or more parts than
 * `limits.fields` text fields and one file.
 *
 * @example
 * ```ts
 * declare const request: Request, limits: FormLimits;
 * const form = await readFormUpToFile(request.body!, request.headers.get("content-type") ?? "", limits);
 * try {
 *   console.log(form.fields.get("format"), form.file?.filename);
 * } finally {
 *   form.close();
 * }
 * ```
 */
export function readFormUpToFile(
  body: ReadableStream<Uint8Array>,
  contentType: string,
  limits: FormLimits,
): Promise<FormUpTo> {
  const boundary = /;\s*boundary=(?:"([^"]*)"|([^\s;]*))/i.exec(contentType);
  const value = boundary?.[1] ?? boundary?.[2] ?? "";
  if (!value) return Promise.reject(new MultipartError("the multipart/form-data content type has no boundary"));
  if (value.length > MAX_BOUNDARY)
    return Promise.reject(new MultipartError(`the multipart boundary is longer than ${MAX_BOUNDARY} characters`));

  let parser: ReturnType<typeof Busboy>;
  try {
    parser = Busboy({
      headers: { "content-type": contentType },
      preservePath: true,
      isPartAFile: (_field, _type, filename) => filename !== undefined,
      limits: {
        fields: limits.fields,
        files: 1,
        parts: limits.fields + 1,
        fieldSize: limits.fieldBytes,
        headerSize: limits.headerBytes,
      },
    });
  } catch (error) {
    return Promise.reject(new MultipartError(`malformed multipart content type: ${(error as Error).message}`));
  }
  const source = Readable.fromWeb(body as NodeReadableStream<Uint8Array>);
  const fields = new Map<string, string>();
  let file: BusboyFileStream | undefined;
  let settled = false;
  const close = () => {
    source.unpipe(parser);
    source.destroy();
    parser.destroy();
  };

  const formRead = new Promise<void>((resolve, reject) => {
    parser.once("finish", resolve);
    parser.once("error", (error: Error) => reject(new MultipartError(messageOf(error))));
    source.once("error", () => reject(new MultipartError(CUT_OFF)));
  });
  formRead.catch(() => {});

  return new Promise<FormUpTo>((resolve, reject) => {
    // Once the file is handed over, what follows it no longer matters: busboy reports a body cut
    // short inside the file on the file's own stream.
    const refuse = (message: string) => {
      if (settled) return;
      settled = true;
      close();
      reject(new MultipartError(message));
    };
    const nameTooLong = (name: string) => Buffer.byteLength(name) > limits.fieldNameBytes;
    parser.on("field", (name, text, _nameCut, valueCut) => {
      if (settled) return;
      if (nameTooLong(name)) refuse(`a form field name is longer than ${limits.fieldNameBytes} bytes`);
      else if (valueCut) refuse(`form field ${name} is too long`);
      else fields.set(name, text);
    });
    parser.on("fieldsLimit", () => refuse(`the form has more than ${limits.fields} fields before the file`));
    parser.on("partsLimit", () => refuse(`the form has more than ${limits.fields + 1} parts`));
    parser.on("file", (field, stream, filename) => {
      if (settled) return void stream.resume();
      if (nameTooLong(field)) return refuse(`a form field name is longer than ${limits.fieldNameBytes} bytes`);
      // busboy reports a body cut short inside the file by an 'error' event on the file's stream,
      // then ends it: a reader between two reads would miss the error and take the part as whole.
      // The content is whole only once the whole form was read without error.
      stream.on("error", () => {});
      file = stream;
      settled = true;
      resolve({
        fields,
        file: { field, filename: decodeFilename(filename), content: contentOf(stream, formRead) },
        close,
      });
    });
    parser.on("error", (error: Error) => refuse(messageOf(error)));
    parser.on("finish", () => {
      if (settled) return;
      settled = true;
      resolve({ fields, close });
    });
    source.on("error", () => {
      file?.destroy(new MultipartError(CUT_OFF));
      refuse(CUT_OFF);
    });
    source.pipe(parser);
  });
}

const CUT_OFF = "the upload was cut off";

function messageOf(error: Error): string {
  return /unexpected end/i.test(error.message)
    ? "the multipart body ended early"
    : `malformed multipart body: ${error.message}`;
}

/** The file's bytes; it ends only when the whole form was read and found well formed. */
async function* contentOf(stream: BusboyFileStream, formRead: Promise<void>): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of stream) yield chunk as Uint8Array;
    await formRead;
  } catch (error) {
    throw error instanceof MultipartError ? error : new MultipartError(messageOf(error as Error));
  }
}

/** Browsers send `"` in file names as `%22`; undo only that. */
function decodeFilename(name: string): string {
  return name.replace(/%22/g, '"');
}
