import { createReadStream, readFileSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** How the test server answers one path. */
export interface Route {
  /** The file served for GET. */
  file?: string;
  /** Answer with this status and no body. */
  status?: number;
  /** Destroy the connection after this many body bytes, the first `dropTimes` times (default once). */
  dropAfter?: number;
  dropTimes?: number;
  /** Answer Range requests with the whole file (200). */
  ignoreRange?: boolean;
  /** After the first drop, serve this file instead (a file that changed between requests). */
  fileAfterDrop?: string;
  /** Answer a resume with an empty 206 whose Content-Range claims this total (a lie shorter than what was sent). */
  resumeTotal?: number;
  /** Send no Content-Length (chunked). */
  noLength?: boolean;
  /** "headers": never answer; "body": send headers and the first `stallAfter` bytes (default 4 KiB), then nothing. */
  stall?: "headers" | "body";
  stallAfter?: number;
  /** For PUT: keep the body (default) or answer this status after reading it. */
  putStatus?: number;
  /** Redirect to this path or URL. */
  redirect?: string;
  /** Announce this Content-Length, whatever the body holds (a lie; for a file: on a whole answer). */
  declaredLength?: number;
  /** Instead of a file: `cap` bytes of `byte` (default 0), in 64 KiB chunks, after `file`'s bytes if one is set. */
  generated?: { cap: number; byte?: number };
  /** Send one byte every `intervalMs` (up to `cap` bytes) instead of the file. */
  trickle?: { intervalMs: number; cap: number };
}

/** One request the server saw. */
export interface Seen {
  method: string;
  path: string;
  range?: string;
  ifRange?: string;
  /** The `x-diskpipe-content-hash` header of a PUT. */
  contentHash?: string;
}

/**
 * A small HTTP server on 127.0.0.1 for the io tests: serves files with Range support, drops
 * or stalls connections on demand, stores PUT bodies, and counts requests and bytes sent.
 */
export class TestServer {
  readonly routes = new Map<string, Route>();
  readonly seen: Seen[] = [];
  readonly stored = new Map<string, Buffer>();
  /** Body bytes handed to sockets, per path. */
  readonly sent = new Map<string, number>();
  readonly #server: Server;
  readonly #drops = new Map<string, number>();
  readonly #stalled = new Set<ServerResponse>();

  constructor() {
    this.#server = createServer((req, res) => this.#handle(req, res));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    return this;
  }

  url(path: string): string {
    const { port } = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${port}${path}`;
  }

  requests(path: string, method = "GET"): Seen[] {
    return this.seen.filter((s) => s.path === path && s.method === method);
  }

  async stop(): Promise<void> {
    for (const res of this.#stalled) res.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    this.seen.push({
      method: req.method ?? "GET",
      path,
      ...(req.headers.range && { range: req.headers.range }),
      ...(req.headers["if-range"] && { ifRange: String(req.headers["if-range"]) }),
      ...(req.headers["x-diskpipe-content-hash"] && { contentHash: String(req.headers["x-diskpipe-content-hash"]) }),
    });
    const route = this.routes.get(path);
    if (req.method === "PUT") return this.#put(path, route, req, res);
    if (!route) return void res.writeHead(404, "Not Found").end();
    if (route.redirect) return void res.writeHead(302, { location: route.redirect }).end();
    if (route.status) return void res.writeHead(route.status).end();
    if (route.stall === "headers") return void this.#stalled.add(res);
    if (route.generated || route.trickle) return this.#generate(path, route, res);
    this.#get(path, route, req, res);
  }

  /** A generated body (bounded by its cap): a file's bytes then filler, or a trickle. */
  #generate(path: string, route: Route, res: ServerResponse): void {
    const headers: Record<string, string> = { "content-type": "application/octet-stream" };
    if (route.declaredLength !== undefined) headers["content-length"] = String(route.declaredLength);
    res.writeHead(200, headers);
    const count = (n: number) => this.sent.set(path, (this.sent.get(path) ?? 0) + n);
    if (route.trickle) {
      const { intervalMs, cap } = route.trickle;
      let left = cap;
      const timer = setInterval(() => {
        if (left-- <= 0 || res.destroyed) return void (clearInterval(timer), res.end());
        count(1);
        res.write(Buffer.from([0]));
      }, intervalMs);
      res.on("close", () => clearInterval(timer));
      return;
    }
    const head = route.file ? readFileSync(route.file) : Buffer.alloc(0);
    const filler = Buffer.alloc(64 * 1024, route.generated!.byte ?? 0);
    let left = route.generated!.cap;
    count(head.length);
    res.write(head);
    const pump = () => {
      while (left > 0 && !res.destroyed) {
        const part = filler.subarray(0, Math.min(filler.length, left));
        left -= part.length;
        count(part.length);
        if (!res.write(part)) return void res.once("drain", pump);
      }
      if (!res.destroyed) res.end();
    };
    pump();
    res.on("close", () => (left = 0));
  }

  #get(path: string, route: Route, req: IncomingMessage, res: ServerResponse): void {
    const file = route.fileAfterDrop && (this.#drops.get(path) ?? 0) > 0 ? route.fileAfterDrop : route.file!;
    const size = statSync(file).size;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (range && route.resumeTotal !== undefined) {
      return void res
        .writeHead(206, {
          "content-range": `bytes ${range[1]}-${Number(range[1]) - 1}/${route.resumeTotal}`,
          "content-length": "0",
        })
        .end();
    }
    const start = range && !route.ignoreRange ? Number(range[1]) : 0;
    const headers: Record<string, string> = { etag: '"v1"', "content-type": "application/octet-stream" };
    if (!route.noLength)
      headers["content-length"] = String(
        start === 0 && route.declaredLength !== undefined ? route.declaredLength : size - start,
      );
    if (start > 0) headers["content-range"] = `bytes ${start}-${size - 1}/${size}`;
    res.writeHead(start > 0 ? 206 : 200, headers);
    const drops = this.#drops.get(path) ?? 0;
    const drop = route.dropAfter !== undefined && drops < (route.dropTimes ?? 1);
    if (drop) this.#drops.set(path, drops + 1);
    let budget = drop ? route.dropAfter! : route.stall === "body" ? (route.stallAfter ?? 4096) : Infinity;
    const stream = createReadStream(file, { start, highWaterMark: 64 * 1024 });
    stream.on("data", (chunk) => {
      const data = chunk as Buffer;
      const part = data.subarray(0, Math.min(data.length, budget));
      budget -= part.length;
      this.sent.set(path, (this.sent.get(path) ?? 0) + part.length);
      const more = res.write(part);
      if (budget <= 0) {
        stream.destroy();
        if (drop) setTimeout(() => res.socket?.destroy(), 20);
        else this.#stalled.add(res);
      } else if (!more) {
        stream.pause();
        res.once("drain", () => stream.resume());
      }
    });
    stream.on("end", () => res.end());
    res.on("close", () => stream.destroy());
  }

  #put(path: string, route: Route | undefined, req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const status = route?.putStatus ?? 201;
      if (status >= 200 && status < 300) this.stored.set(path, Buffer.concat(chunks));
      res.writeHead(status).end();
    });
  }
}
