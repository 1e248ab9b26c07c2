import { createConnection, type Socket } from "node:net";
import { DiskpipeError } from "../errors.ts";

const NBDMAGIC = 0x4e42444d41474943n;
const IHAVEOPT = 0x49484156454f5054n;
const FLAG_FIXED_NEWSTYLE = 1;
const FLAG_NO_ZEROES = 2;
const OPT_EXPORT_NAME = 1;
const REQUEST_MAGIC = 0x25609513;
const REPLY_MAGIC = 0x67446698;
const CMD_READ = 0;
const CMD_DISC = 2;
const CONNECT_TIMEOUT_MS = 15_000;
/** The socket reads into one buffer of this size (no Buffer per chunk). */
const READ_BUFFER = 1024 * 1024;

/** Where the bytes a socket receives go: the handshake's reader, then the reply parser. */
interface Input {
  to: (chunk: Buffer) => void;
}

/** Reads exact byte counts from the socket until `detach` hands over to the reply parser. */
type HandshakeReader = ((n: number) => Promise<Buffer>) & { detach: () => Buffer };

interface Connected {
  socket: Socket;
  input: Input;
  take: HandshakeReader;
}

interface Pending {
  buffer: Buffer;
  length: number;
  filled: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

const failure = (message: string) => new DiskpipeError("qemu-img-failed", `qemu-nbd: ${message}`);

/**
 * A minimal NBD client (fixed newstyle handshake, simple replies, read-only) over a Unix socket:
 * how diskpipe reads the guest-visible bytes of a non-raw image that qemu-nbd exports. Reads
 * may be issued before earlier ones finish; replies are matched by handle.
 *
 * @example
 * ```ts
 * const nbd = await NbdClient.connect("/run/diskpipe/job/nbd.sock", () => false);
 * const buffer = Buffer.alloc(65536);
 * await nbd.read(buffer, 65536, 0);
 * await nbd.close();
 * ```
 */
export class NbdClient {
  readonly #socket: Socket;
  readonly #input: Input;
  readonly #pending = new Map<bigint, Pending>();
  #handle = 0n;
  #header = Buffer.alloc(16);
  #headerFilled = 0;
  #current: Pending | undefined;
  #broken: Error | undefined;
  /** The export's size in bytes. */
  size = 0;

  private constructor(socket: Socket, input: Input) {
    this.#socket = socket;
    this.#input = input;
  }

  /**
   * Connects to the server listening on `path`, retrying while the socket does not exist yet
   * (qemu-nbd is starting) unless `gone()` says the server has already ended; then shakes hands.
   */
  static async connect(path: string, gone: () => boolean): Promise<NbdClient> {
    const deadline = performance.now() + CONNECT_TIMEOUT_MS;
    for (;;) {
      const connected = await attempt(path).catch((error: NodeJS.ErrnoException) => {
        const retry = (error.code === "ENOENT" || error.code === "ECONNREFUSED") && !gone();
        if (!retry || performance.now() > deadline) throw failure(`cannot connect: ${error.message}`);
        return undefined;
      });
      if (connected) {
        const client = new NbdClient(connected.socket, connected.input);
        await client.#handshake(connected.take).catch((error: unknown) => {
          connected.socket.destroy();
          throw error;
        });
        return client;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Reads `length` bytes at `offset` into the start of `buffer`. */
  read(buffer: Buffer, length: number, offset: number): Promise<void> {
    if (this.#broken) return Promise.reject(this.#broken);
    if (length === 0) return Promise.resolve();
    const handle = ++this.#handle;
    return new Promise<void>((resolve, reject) => {
      this.#pending.set(handle, { buffer, length, filled: 0, resolve, reject });
      this.#socket.write(request(CMD_READ, handle, offset, length));
    });
  }

  /** Says goodbye (NBD_CMD_DISC) and closes the connection; qemu-nbd then exits. */
  async close(): Promise<void> {
    if (!this.#broken && !this.#socket.destroyed) this.#socket.write(request(CMD_DISC, ++this.#handle, 0, 0));
    await new Promise<void>((resolve) => {
      if (this.#socket.destroyed) return resolve();
      this.#socket.once("close", () => resolve());
      this.#socket.end();
    });
  }

  async #handshake(take: HandshakeReader): Promise<void> {
    const hello = await take(18);
    if (hello.readBigUInt64BE(0) !== NBDMAGIC || hello.readBigUInt64BE(8) !== IHAVEOPT)
      throw failure("not a fixed-newstyle NBD server");
    const serverFlags = hello.readUInt16BE(16);
    const noZeroes = (serverFlags & FLAG_NO_ZEROES) !== 0;
    const flags = Buffer.alloc(4);
    flags.writeUInt32BE(FLAG_FIXED_NEWSTYLE | (noZeroes ? FLAG_NO_ZEROES : 0));
    const option = Buffer.alloc(16);
    option.writeBigUInt64BE(IHAVEOPT, 0);
    option.writeUInt32BE(OPT_EXPORT_NAME, 8);
    option.writeUInt32BE(0, 12); // the default export, named ""
    this.#socket.write(Buffer.concat([flags, option]));
    const answer = await take(noZeroes ? 10 : 134);
    this.size = Number(answer.readBigUInt64BE(0));
    const rest = take.detach();
    this.#input.to = (chunk) => this.#receive(chunk);
    const fail = (error: Error) => this.#fail(error);
    this.#socket.on("error", fail);
    this.#socket.on("close", () => fail(failure("the connection closed")));
    if (rest.length > 0) this.#receive(rest);
  }

  #receive(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      const current = this.#current;
      if (current) {
        const n = Math.min(current.length - current.filled, chunk.length - at);
        chunk.copy(current.buffer, current.filled, at, at + n);
        current.filled += n;
        at += n;
        if (current.filled === current.length) {
          this.#current = undefined;
          current.resolve();
        }
        continue;
      }
      const n = Math.min(16 - this.#headerFilled, chunk.length - at);
      chunk.copy(this.#header, this.#headerFilled, at, at + n);
      this.#headerFilled += n;
      at += n;
      if (this.#headerFilled < 16) continue;
      this.#headerFilled = 0;
      this.#reply();
    }
  }

  #reply(): void {
    const header = this.#header;
    if (header.readUInt32BE(0) !== REPLY_MAGIC) return this.#fail(failure("bad reply magic"));
    const error = header.readUInt32BE(4);
    const handle = header.readBigUInt64BE(8);
    const pending = this.#pending.get(handle);
    if (!pending) return this.#fail(failure(`a reply to an unknown request ${handle}`));
    this.#pending.delete(handle);
    if (error !== 0) pending.reject(failure(`read failed with error ${error}`));
    else this.#current = pending;
  }

  #fail(error: Error): void {
    this.#broken ??= error;
    this.#current?.reject(error);
    this.#current = undefined;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    this.#socket.destroy();
  }
}

/**
 * Connects; what arrives goes to `input.to`, read into one reused buffer (`onread`: the chunk
 * is valid only during the call, every receiver copies it), or through 'data' events on a
 * runtime without `onread`. The handshake's reader is in place before the socket connects:
 * a runtime may deliver the server's first bytes in the same turn as the connection (Deno
 * does), before any code awaiting the connection runs.
 */
function attempt(path: string): Promise<Connected> {
  const input: Input = { to: () => undefined };
  return new Promise((resolve, reject) => {
    const buffer = Buffer.allocUnsafe(READ_BUFFER);
    const socket = createConnection({
      path,
      onread: {
        buffer,
        callback: (n: number) => {
          input.to(buffer.subarray(0, n));
          return true;
        },
      },
    });
    const take = bytesReader(socket, input);
    socket.on("data", (chunk: Buffer) => input.to(chunk));
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve({ socket, input, take });
    });
    socket.once("error", reject);
  });
}

function request(type: number, handle: bigint, offset: number, length: number): Buffer {
  const out = Buffer.alloc(28);
  out.writeUInt32BE(REQUEST_MAGIC, 0);
  out.writeUInt16BE(0, 4);
  out.writeUInt16BE(type, 6);
  out.writeBigUInt64BE(handle, 8);
  out.writeBigUInt64BE(BigInt(offset), 16);
  out.writeUInt32BE(length, 24);
  return out;
}

/** Reads exact byte counts from a socket during the handshake; `detach` hands back what is left. */
function bytesReader(socket: Socket, input: Input): HandshakeReader {
  let buffered = Buffer.alloc(0);
  let waiter: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  const settle = () => {
    if (waiter && buffered.length >= waiter.n) {
      const { n, resolve } = waiter;
      waiter = undefined;
      const out = buffered.subarray(0, n);
      buffered = buffered.subarray(n);
      resolve(out);
    }
  };
  const onData = (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    settle();
  };
  let ended = false;
  const onEnd = () => {
    ended = true;
    waiter?.reject(failure("the server closed the connection during the handshake"));
  };
  input.to = onData;
  socket.on("error", onEnd);
  socket.on("close", onEnd);
  const take = (n: number) =>
    new Promise<Buffer>((resolve, reject) => {
      waiter = { n, resolve, reject };
      settle();
      if (waiter && ended) onEnd();
    });
  return Object.assign(take, {
    detach: () => {
      input.to = () => undefined;
      socket.off("error", onEnd);
      socket.off("close", onEnd);
      return buffered;
    },
  });
}
