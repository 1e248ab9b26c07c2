/**
 * One part of a multipart/form-data body: its field name, file name if any, and its bytes.
 *
 * @example
 * ```ts
 * for await (const part of readMultipart(body, boundary)) console.log(part.field, part.filename);
 * ```
 */
export interface Part {
  field: string;
  filename?: string;
  /** The part's content; read it to the end (or stop reading the body) before asking for the next part. */
  body: AsyncGenerator<Uint8Array>;
}

const CRLF2 = Buffer.from("\r\n\r\n");
const MAX_HEADER_BYTES = 16 * 1024;

/**
 * The boundary of a `multipart/form-data` content type, or undefined.
 *
 * @example
 * ```ts
 * boundaryOf('multipart/form-data; boundary="abc"'); // "abc"
 * ```
 */
export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data\b/i.test(contentType)) return undefined;
  const match = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

/**
 * Reads a multipart/form-data body part by part without buffering it: each part's content is
 * streamed, keeping only a boundary's length of lookahead in memory.
 *
 * @example
 * ```ts
 * for await (const part of readMultipart(request.body!, boundary)) {
 *   if (part.filename) for await (const chunk of part.body) await file.write(chunk);
 * }
 * ```
 */
export async function* readMultipart(stream: ReadableStream<Uint8Array>, boundary: string): AsyncGenerator<Part> {
  const reader = stream.getReader();
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  // The first delimiter has no CRLF before it; pretend it has one.
  let buffer: Buffer = Buffer.from("\r\n");
  let ended = false;

  const fill = async (): Promise<boolean> => {
    if (ended) return false;
    const { done, value } = await reader.read();
    if (done) {
      ended = true;
      return false;
    }
    buffer = buffer.length ? Buffer.concat([buffer, value]) : Buffer.from(value);
    return true;
  };
  const need = async (bytes: number): Promise<void> => {
    while (buffer.length < bytes) if (!(await fill())) throw new Error("multipart body ended early");
  };

  try {
    // Skip the preamble up to the first delimiter.
    for (;;) {
      const at = buffer.indexOf(delimiter);
      if (at >= 0) {
        buffer = buffer.subarray(at + delimiter.length);
        break;
      }
      buffer = buffer.subarray(Math.max(0, buffer.length - delimiter.length));
      if (!(await fill())) throw new Error("multipart body has no boundary");
    }
    for (;;) {
      await need(2);
      if (buffer[0] === 0x2d && buffer[1] === 0x2d) return;
      let headerEnd = buffer.indexOf(CRLF2);
      while (headerEnd < 0) {
        if (buffer.length > MAX_HEADER_BYTES) throw new Error("multipart part headers too large");
        if (!(await fill())) throw new Error("multipart body ended in part headers");
        headerEnd = buffer.indexOf(CRLF2);
      }
      const headers = buffer.subarray(0, headerEnd).toString("utf8");
      buffer = buffer.subarray(headerEnd + CRLF2.length);
      const disposition = /^content-disposition:\s*form-data(.*)$/im.exec(headers)?.[1] ?? "";
      const field = /;\s*name="([^"]*)"/i.exec(disposition)?.[1] ?? "";
      const filename = /;\s*filename="([^"]*)"/i.exec(disposition)?.[1];
      let finished = false;
      const body = (async function* (): AsyncGenerator<Uint8Array> {
        for (;;) {
          const at = buffer.indexOf(delimiter);
          if (at >= 0) {
            if (at > 0) yield buffer.subarray(0, at);
            buffer = buffer.subarray(at + delimiter.length);
            finished = true;
            return;
          }
          const safe = buffer.length - delimiter.length + 1;
          if (safe > 0) {
            const chunk = buffer.subarray(0, safe);
            buffer = buffer.subarray(safe);
            yield chunk;
          }
          if (!(await fill())) throw new Error("multipart body ended inside a part");
        }
      })();
      yield { field, ...(filename !== undefined && { filename: decodeFilename(filename) }), body };
      if (!finished) for await (const _ of body) void _;
    }
  } finally {
    reader.releaseLock();
  }
}

/** Browsers send `"` in file names as `%22`; undo only that. */
function decodeFilename(name: string): string {
  return name.replace(/%22/g, '"');
}
