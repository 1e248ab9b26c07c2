import { createHash } from "node:crypto";
import { Worker } from "node:worker_threads";
import { DiskpipeError } from "../errors.ts";
import { BLOCK_SIZE, CONTENT_HASH_PREFIX, STREAMS } from "./construction.ts";

// Runs in each worker (plain JavaScript: no loader needed on Node or Deno). A worker owns some
// of the 4 streams and, for every message, feeds them the digests of its blocks in order.
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const crypto = require("node:crypto");
const BLOCK = ${BLOCK_SIZE};
const sha = (b) => (crypto.hash ? crypto.hash("sha256", b, "buffer") : crypto.createHash("sha256").update(b).digest());
const zero = Buffer.alloc(BLOCK);
const zeroDigest = sha(zero);
const tailZero = workerData.tail ? sha(zero.subarray(0, workerData.tail)) : undefined;
const mine = workerData.streams;
const streams = new Map(mine.map((s) => [s, crypto.createHash("sha256")]));
let hashed = 0;
parentPort.on("message", (m) => {
  if (m.type === "data") {
    const bytes = Buffer.from(m.buffer, m.offset, m.length);
    for (let i = 0, at = 0; at < m.length; i++, at += BLOCK) {
      const stream = streams.get((m.first + i) % 4);
      if (!stream) continue;
      const block = bytes.subarray(at, at + BLOCK);
      const isZero = block.length === BLOCK ? block.equals(zero) : block.equals(zero.subarray(0, block.length));
      if (isZero) stream.update(block.length === BLOCK ? zeroDigest : tailZero);
      else { hashed += block.length; stream.update(sha(block)); }
    }
    parentPort.postMessage({ type: "done", id: m.id });
  } else if (m.type === "zeros") {
    for (const [s, stream] of streams) {
      const first = (s - (m.first % 4) + 4) % 4;
      let n = first < m.count ? Math.floor((m.count - 1 - first) / 4) + 1 : 0;
      const run = Buffer.concat(Array.from({ length: Math.min(n, 2048) }, () => zeroDigest));
      for (; n > 0; n -= 2048) stream.update(run.subarray(0, Math.min(n, 2048) * 32));
    }
  } else if (m.type === "tail") {
    const stream = streams.get(m.block % 4);
    if (stream) stream.update(tailZero);
  } else if (m.type === "digest") {
    parentPort.postMessage({ type: "digests", hashed, digests: mine.map((s) => [s, streams.get(s).digest()]) });
  }
});
`;

/**
 * The content hash computed by worker threads, each owning some of the 4 streams: the same
 * result as {@link ContentHasher}, with the block digests of one disk computed on more than one
 * core. Data must be in buffers backed by a SharedArrayBuffer ({@link ParallelHasher.buffer});
 * `data` resolves when the buffer may be reused.
 *
 * @example
 * ```ts
 * const hasher = new ParallelHasher(1 << 20, 2);
 * const chunk = ParallelHasher.buffer(1 << 20);
 * chunk.fill(1);
 * await hasher.data(chunk);
 * console.log(await hasher.digest()); // "blk-sha256:…"
 * ```
 */
export class ParallelHasher {
  readonly size: number;
  readonly blocks: number;
  readonly #workers: Worker[];
  readonly #waiting = new Map<number, { left: number; resolve: () => void; reject: (e: Error) => void }>();
  #next = 0;
  #id = 0;
  #failed: Error | undefined;
  /** Bytes of data blocks hashed (known after {@link ParallelHasher.digest}). */
  hashedBytes = 0;

  constructor(size: number, threads: number) {
    this.size = size;
    this.blocks = Math.ceil(size / BLOCK_SIZE);
    const tail = size % BLOCK_SIZE;
    this.#workers = Array.from({ length: threads }, (_, w) => {
      const streams = Array.from({ length: STREAMS }, (_, s) => s).filter((s) => s % threads === w);
      const worker = new Worker(WORKER, { eval: true, workerData: { streams, tail } });
      worker.on("message", (message: { type: string; id?: number }) => {
        if (message.type !== "done" || message.id === undefined) return;
        const waiting = this.#waiting.get(message.id);
        if (waiting && --waiting.left === 0) {
          this.#waiting.delete(message.id);
          waiting.resolve();
        }
      });
      worker.on("error", (error) => this.#fail(error));
      return worker;
    });
  }

  /** A buffer the workers can read without a copy. */
  static buffer(length: number): Buffer {
    return Buffer.from(new SharedArrayBuffer(length));
  }

  /** The index of the next block to feed. */
  get position(): number {
    return this.#next;
  }

  /** Feeds `count` blocks known to be zero. */
  zeros(count: number): void {
    if (count <= 0) return;
    let run = count;
    const tail = this.size % BLOCK_SIZE !== 0 && this.#next + run === this.blocks;
    if (tail) run--;
    for (const worker of this.#workers) worker.postMessage({ type: "zeros", first: this.#next, count: run });
    this.#next += run;
    if (tail) {
      for (const worker of this.#workers) worker.postMessage({ type: "tail", block: this.#next });
      this.#next++;
    }
  }

  /** Feeds the next blocks from `bytes` (a view of a SharedArrayBuffer); resolves when the workers are done with it. */
  data(bytes: Buffer): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    const first = this.#next;
    this.#next += Math.ceil(bytes.length / BLOCK_SIZE);
    const id = ++this.#id;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { left: this.#workers.length, resolve, reject });
      const message = { type: "data", id, first, buffer: bytes.buffer, offset: bytes.byteOffset, length: bytes.length };
      for (const worker of this.#workers) worker.postMessage(message);
    });
  }

  /** The result, once every block was fed; the workers end. */
  async digest(): Promise<string> {
    try {
      if (this.#next !== this.blocks)
        throw new DiskpipeError("io-failed", `content hash: ${this.#next} of ${this.blocks} blocks were fed`);
      const answers = await Promise.all(
        this.#workers.map(
          (worker) =>
            new Promise<{ hashed: number; digests: Array<[number, Uint8Array]> }>((resolve, reject) => {
              worker.on(
                "message",
                (message: { type: string; hashed: number; digests: Array<[number, Uint8Array]> }) => {
                  if (message.type === "digests") resolve(message);
                },
              );
              worker.once("error", reject);
              worker.postMessage({ type: "digest" });
            }),
        ),
      );
      const byStream = new Map(answers.flatMap((answer) => answer.digests));
      this.hashedBytes = answers.reduce((sum, answer) => sum + answer.hashed, 0);
      const outer = createHash("sha256");
      for (let s = 0; s < STREAMS; s++) outer.update(byStream.get(s) ?? new Uint8Array());
      return `${CONTENT_HASH_PREFIX}${outer.digest("hex")}`;
    } finally {
      await this.close();
    }
  }

  /** Ends the workers (after a failure too). */
  async close(): Promise<void> {
    await Promise.all(this.#workers.map((worker) => worker.terminate()));
  }

  #fail(error: Error): void {
    this.#failed ??= error;
    for (const waiting of this.#waiting.values()) waiting.reject(error);
    this.#waiting.clear();
  }
}
