import { request } from "node:http";

/** Multipart forms and POSTs to a real dashboard server on 127.0.0.1, for the upload tests. */
export const BOUNDARY = "----diskpipe-upload-test";
export const TYPE = `multipart/form-data; boundary=${BOUNDARY}`;
export const MAX_UPLOAD = 8 * 1024 * 1024;

export const field = (name: string, value: string | Buffer) =>
  Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n`),
    Buffer.from(value),
    Buffer.from("\r\n"),
  ]);
export const fileHead = (filename: string, field = "file") =>
  Buffer.from(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
  );
export const CLOSE = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
export const form = (...parts: Buffer[]) => Buffer.concat(parts);

export interface Answer {
  status: number;
  body: { error?: string; path?: string; bytes?: number };
}

/** POSTs to the real server on 127.0.0.1; `chunks` go out one write each, chunked when no length is given. */
export function post(
  port: number,
  headers: Record<string, string>,
  chunks: Iterable<Buffer> | AsyncIterable<Buffer>,
  path = "/upload",
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request({ host: "127.0.0.1", port, path, method: "POST", headers, agent: false }, (res) => {
      answered = true;
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} }));
    });
    req.on("error", (error) => {
      if (!answered) reject(error);
    });
    void (async () => {
      for await (const chunk of chunks)
        if (!req.write(chunk)) await new Promise((drained) => req.once("drain", drained));
      req.end();
    })().catch(() => {});
  });
}

export const postForm = (port: number, body: Buffer, type = TYPE) =>
  post(port, { "content-type": type, "content-length": String(body.length) }, [body]);
