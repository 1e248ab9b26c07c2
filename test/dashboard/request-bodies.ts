// Request bodies and an event-stream reader for the dashboard tests that call Hono's app.request().
/** A request body that arrives in `chunks` pieces of `size` bytes, with no Content-Length. */
export function streamOf(chunks: number, size: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent++ >= chunks) controller.close();
      else controller.enqueue(new Uint8Array(size).fill(7));
    },
  });
}

/** A multipart form with `fields` and one file part named `file`. */
export function multipart(
  fields: Record<string, string>,
  file: { name: string; data: Uint8Array },
): { body: Uint8Array<ArrayBuffer>; type: string } {
  const boundary = "----diskpipe-test-boundary";
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(fields)) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
  }
  parts.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file.name}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    ),
  );
  parts.push(Buffer.from(file.data), Buffer.from(`\r\n--${boundary}--\r\n`));
  return { body: new Uint8Array(Buffer.concat(parts)), type: `multipart/form-data; boundary=${boundary}` };
}

/** Reads an event stream until `pattern` shows up in what arrived (or fails after `ms`). */
export async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  pattern: RegExp,
  ms = 20_000,
): Promise<string> {
  let text = "";
  const deadline = Date.now() + ms;
  while (!pattern.test(text)) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`no ${pattern} in the event stream; got: ${text}`);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`no ${pattern} in: ${text}`)), left)),
    );
    const next = await Promise.race([reader.read(), timeout]).finally(() => clearTimeout(timer));
    if (next.done) break;
    text += new TextDecoder().decode(next.value);
  }
  return text;
}
