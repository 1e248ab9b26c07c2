// A static file server for the bench, run as a child process (so it does not share the
// bench's or diskpipe's event loop): `node --import tsx bench/http-server.ts ROOT`.
// Serves ROOT/<name> (one path segment, no dot files) with Content-Length, ETag and Range;
// prints its port on stdout once listening, then runs until killed.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer } from "node:http";
import { basename, join } from "node:path";

const root = process.argv[2];
if (!root) throw new Error("usage: http-server.ts ROOT");

const server = createServer(async (request, response) => {
  const name = decodeURIComponent(new URL(request.url ?? "/", "http://127.0.0.1").pathname.slice(1));
  if (name !== basename(name) || name.startsWith(".") || (request.method !== "GET" && request.method !== "HEAD")) {
    response.writeHead(404).end();
    return;
  }
  const path = join(root, name);
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) {
    response.writeHead(404).end();
    return;
  }
  const etag = `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
  const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? "");
  const start = range ? Number(range[1]) : 0;
  const end = range && range[2] ? Math.min(Number(range[2]), info.size - 1) : info.size - 1;
  const partial = range !== null && (request.headers["if-range"] === undefined || request.headers["if-range"] === etag);
  if (partial && start > end) {
    response.writeHead(416, { "content-range": `bytes */${info.size}` }).end();
    return;
  }
  const from = partial ? start : 0;
  const headers: Record<string, string | number> = {
    "content-length": end - from + 1,
    etag,
    "accept-ranges": "bytes",
    "content-type": "application/octet-stream",
  };
  if (partial) headers["content-range"] = `bytes ${from}-${end}/${info.size}`;
  response.writeHead(partial ? 206 : 200, headers);
  if (request.method === "HEAD") {
    response.end();
    return;
  }
  const stream = createReadStream(path, { start: from, end, highWaterMark: 1024 * 1024 });
  stream.on("error", () => response.destroy());
  stream.pipe(response);
});

server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`${typeof address === "object" && address ? address.port : 0}\n`);
});
