import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Readable } from "node:stream";
import { guardedLookup, namesLocalHost, redirectRefusal } from "./redirects.ts";

export { isHttpUrl } from "./location.ts";

/**
 * A request that saw no bytes for too long (connecting, waiting for headers, or mid-body).
 *
 * @example
 * ```ts
 * declare const request: import("node:http").ClientRequest;
 * request.destroy(new HttpTimeoutError(30_000)); // "no data for 30000 ms"
 * ```
 */
export class HttpTimeoutError extends Error {
  readonly code = "ETIMEDOUT";
  constructor(ms: number) {
    super(`no data for ${ms} ms`);
    this.name = "HttpTimeoutError";
  }
}

/**
 * An HTTP answer diskpipe did not want; `retryable` for 408, 429 and 5xx (but 501).
 *
 * @example
 * ```ts
 * declare const url: URL, response: IncomingMessage;
 * const status = response.statusCode ?? 0;
 * if (status !== 200) throw new HttpStatusError("GET", url, status, response.statusMessage);
 * ```
 */
export class HttpStatusError extends Error {
  readonly status: number;
  constructor(method: string, url: URL, status: number, statusText = "") {
    super(`${method} ${redactUrl(url)} answered HTTP ${status}${statusText ? ` ${statusText}` : ""}`);
    this.name = "HttpStatusError";
    this.status = status;
  }

  get retryable(): boolean {
    return this.status === 408 || this.status === 429 || (this.status >= 500 && this.status !== 501);
  }
}

/**
 * Fires `onIdle` when it has not been kicked for `ms`. Paused while diskpipe itself holds the
 * stream back (throttling), so a slow reader is not taken for a stalled server.
 *
 * @example
 * ```ts
 * declare const req: import("node:http").ClientRequest, response: IncomingMessage;
 * const idle = new Watchdog(30_000, () => req.destroy(new HttpTimeoutError(30_000)));
 * response.on("data", () => idle.kick());
 * ```
 */
export class Watchdog {
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    readonly ms: number,
    readonly onIdle: () => void,
  ) {
    this.kick();
  }

  kick(): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#stopped = true;
      this.onIdle();
    }, this.ms);
  }

  pause(): void {
    clearTimeout(this.#timer);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}

/**
 * One request's options.
 *
 * @example
 * ```ts
 * import { Readable } from "node:stream";
 * const body = Readable.from([new Uint8Array(512)]);
 * const options: SendOptions = { method: "PUT", headers: { "content-length": "512" }, timeoutMs: 5000, body };
 * ```
 */
export interface SendOptions {
  method?: string;
  headers?: OutgoingHttpHeaders;
  /** Idle timeout: connecting, waiting for the answer, and between body chunks either way. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** A request body, streamed (never buffered whole). */
  body?: Readable;
  /** Redirects to follow (GET only); default 5. */
  maxRedirects?: number;
  /** Hosts a redirect may lead to besides the first URL's (`fetch.allowRedirects`). */
  allowRedirects?: readonly string[];
  /**
   * Resolve every host with the guard, the first URL's too (see {@link guardedLookup}): for a
   * request to where an earlier redirect led, such as a resumed download, and for locations
   * nobody trusted gave (`fetch.refuseLocalHosts`: a worker's jobs from the queue).
   */
  guardLookup?: boolean;
}

/**
 * An answer, the URL that gave it (after redirects), and its idle watchdog (kick it per chunk).
 *
 * @example
 * ```ts
 * declare const location: string;
 * const { response, url, idle }: Exchange = await send(new URL(location), { timeoutMs: 5000 });
 * ```
 */
export interface Exchange {
  response: IncomingMessage;
  url: URL;
  idle: Watchdog;
}

/**
 * Sends one HTTP(S) request with an idle timeout and abort signal, following redirects for
 * GET within the redirect policy (see {@link redirectRefusal}: the same scheme and host, or
 * an allowed host; never from https to http; never to a loopback or link-local address, by
 * literal or by what a name resolves to, unless the first URL was one). Resolves with the
 * answer's headers; the caller reads the body.
 *
 * @example
 * ```ts
 * const { response, idle } = await send(new URL("http://127.0.0.1:8080/img"), { timeoutMs: 5000 });
 * for await (const chunk of response) idle.kick(); // … and use the chunk
 * idle.stop();
 * ```
 */
export async function send(url: URL, options: SendOptions): Promise<Exchange> {
  const method = options.method ?? "GET";
  let current = url;
  let guard = options.guardLookup === true;
  for (let hops = 0; ; hops++) {
    const exchange = await sendOnce(current, method, options, guard);
    const status = exchange.response.statusCode ?? 0;
    const location = exchange.response.headers.location;
    if (method !== "GET" || ![301, 302, 303, 307, 308].includes(status) || !location) return exchange;
    exchange.response.resume();
    exchange.idle.stop();
    const next = new URL(location, current);
    if (hops >= (options.maxRedirects ?? 5)) throw new Error(`too many redirects from ${redactUrl(url)}`);
    const refusal = redirectRefusal(url, current, next, options.allowRedirects ?? []);
    if (refusal) throw new Error(`refusing a redirect from ${redactUrl(current)} to ${redactUrl(next)}: ${refusal}`);
    current = next;
    guard = options.guardLookup === true || !namesLocalHost(url);
  }
}

function sendOnce(url: URL, method: string, options: SendOptions, guardLookup: boolean): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const request = (url.protocol === "https:" ? httpsRequest : httpRequest)(url, {
      method,
      headers: options.headers,
      ...(options.signal && { signal: options.signal }),
      // A pooled connection would skip the lookup, and with it the guard.
      ...(guardLookup && { lookup: guardedLookup, agent: false }),
    });
    let answer: IncomingMessage | undefined;
    const idle = new Watchdog(options.timeoutMs, () => {
      const error = new HttpTimeoutError(options.timeoutMs);
      answer?.destroy(error);
      request.destroy(error);
    });
    request.on("error", (error) => {
      idle.stop();
      reject(error);
    });
    request.on("response", (response) => {
      answer = response;
      idle.kick();
      response.on("end", () => idle.stop());
      response.on("close", () => idle.stop());
      response.on("error", () => idle.stop());
      resolve({ response, url, idle });
    });
    if (options.body) {
      options.body.on("data", () => idle.kick());
      options.body.on("error", (error) => request.destroy(error));
      options.body.pipe(request);
    } else {
      request.end();
    }
  });
}

/**
 * A URL for messages: credentials removed.
 *
 * @example
 * ```ts
 * redactUrl(new URL("https://u:secret@h/x")); // "https://h/x"
 * ```
 */
export function redactUrl(url: URL | string): string {
  const copy = new URL(String(url));
  copy.username = "";
  copy.password = "";
  return copy.toString();
}

/**
 * Whether an error is worth another attempt: a dropped connection, a timeout, a retryable status.
 *
 * @example
 * ```ts
 * declare const error: unknown, attempt: number, retries: number, backoff: (attempt: number) => Promise<void>;
 * if (isTransient(error) && attempt < retries) await backoff(attempt);
 * ```
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof HttpStatusError) return error.retryable;
  if (error instanceof HttpTimeoutError) return true;
  const code = (error as { code?: string } | null)?.code;
  return (
    [
      "ECONNRESET",
      "ECONNREFUSED",
      "EPIPE",
      "ETIMEDOUT",
      "EAI_AGAIN",
      "ECONNABORTED",
      "EHOSTUNREACH",
      "ENETUNREACH",
      "ERR_STREAM_PREMATURE_CLOSE",
      "HPE_INVALID_CONSTANT",
    ].includes(code ?? "") ||
    (error instanceof Error && /aborted|socket hang up|premature/i.test(error.message) && error.name !== "AbortError")
  );
}
