import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";

/** How the server answers one request. */
export type Answer = (req: IncomingMessage, res: ServerResponse) => void;

/** One request the server saw. */
export interface Asked {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
}

/**
 * An HTTP server on 127.0.0.1 (port 0) that answers each request with the next of a script of
 * answers, for unit tests of the download code; a request past the script gets a 418.
 */
export class ScriptedServer {
  readonly asked: Asked[] = [];
  readonly #server: Server;
  readonly #answers: Answer[] = [];
  readonly #open = new Set<ServerResponse>();

  private constructor() {
    this.#server = createServer((req, res) => {
      this.asked.push({ method: req.method ?? "GET", path: req.url ?? "/", headers: req.headers });
      this.#open.add(res);
      res.on("close", () => this.#open.delete(res));
      const answer = this.#answers.shift();
      if (answer) answer(req, res);
      else res.writeHead(418).end();
    });
  }

  /** A listening server with `answers` as its script. */
  static async start(...answers: Answer[]): Promise<ScriptedServer> {
    const server = new ScriptedServer();
    server.#answers.push(...answers);
    await new Promise<void>((resolve) => server.#server.listen(0, "127.0.0.1", resolve));
    return server;
  }

  /** A URL on this server (`host` replaces 127.0.0.1). */
  url(path = "/img", host = "127.0.0.1"): URL {
    return new URL(`http://${host}:${(this.#server.address() as AddressInfo).port}${path}`);
  }

  /** Closes the connection of every answer not complete, as a network failure would. */
  drop(): void {
    for (const res of this.#open) if (!res.writableEnded) res.socket?.end();
  }

  /** Closes every connection, the stalled ones too. */
  async close(): Promise<void> {
    for (const res of this.#open) res.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** An answer with `status`, `headers` and `body`, complete. */
export function reply(status: number, headers: Record<string, string | number>, body: string | Buffer = ""): Answer {
  return (_req, res) => void res.writeHead(status, headers).end(body);
}

/**
 * A 200 (or `status`) that sends `body` and holds the connection open, short of what it
 * announced, until {@link ScriptedServer.drop} closes it (call that once the client has the bytes).
 */
export function cut(headers: Record<string, string | number>, body: string | Buffer, status = 200): Answer {
  return (_req, res) => {
    res.writeHead(status, headers);
    res.write(body);
  };
}

/** Headers and `body`, then nothing more: the connection stays open until the client gives up. */
export function stall(headers: Record<string, string | number> = {}, body: string | Buffer = ""): Answer {
  return (_req, res) => {
    res.writeHead(200, headers);
    if (body.length > 0) res.write(body);
    else res.flushHeaders();
  };
}

/** No answer at all: the request waits for its headers until the client gives up. */
export const silence: Answer = () => undefined;
