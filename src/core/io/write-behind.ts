/**
 * Where {@link WriteBehind} writes: something that appends several chunks at once.
 *
 * @example
 * ```ts
 * import type { GrowingFile } from "./growing-file.ts";
 * declare const growingFile: GrowingFile;
 * const target: AppendTarget = { appendAll: (chunks) => growingFile.appendAll(chunks) };
 * ```
 */
export interface AppendTarget {
  appendAll(chunks: Uint8Array[]): Promise<void>;
}

/**
 * Writes a stream's chunks behind it: chunks queue while the previous write is on its way to
 * the file, then go out together in one `writev`, so a download keeps reading its socket while
 * the disk works. `push` waits only when more than `highWater` bytes are queued (the bound on
 * the memory a slow disk can make a download hold). The first failed write rejects every later
 * `push` and `flush`.
 *
 * @example
 * ```ts
 * import type { GrowingFile } from "./growing-file.ts";
 * declare const file: GrowingFile, response: AsyncIterable<Uint8Array>, report: (written: number) => void;
 * const behind = new WriteBehind(file, 16 * 1024 * 1024, () => report(file.written));
 * for await (const chunk of response) await behind.push(chunk);
 * await behind.flush();
 * ```
 */
export class WriteBehind {
  readonly #target: AppendTarget;
  readonly #highWater: number;
  readonly #onWritten: () => void;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #writing: Promise<void> | undefined;
  #failure: { error: unknown } | undefined;

  constructor(target: AppendTarget, highWater: number, onWritten: () => void = () => {}) {
    this.#target = target;
    this.#highWater = highWater;
    this.#onWritten = onWritten;
  }

  /** Bytes queued and not yet handed to a write. */
  get queued(): number {
    return this.#queued;
  }

  /** Queues a chunk (kept, not copied); resolves at once unless the queue is over the high-water mark. */
  async push(chunk: Uint8Array): Promise<void> {
    this.#throwIfFailed();
    if (chunk.length === 0) return;
    this.#queue.push(chunk);
    this.#queued += chunk.length;
    this.#writing ??= this.#drain();
    if (this.#queued >= this.#highWater) await this.flush();
  }

  /** Resolves when every queued chunk is in the file; rejects with the first write error. */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
    this.#throwIfFailed();
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#failure) {
        const chunks = this.#queue;
        this.#queue = [];
        this.#queued = 0;
        await this.#target.appendAll(chunks);
        this.#onWritten();
      }
    } catch (error) {
      this.#failure = { error };
      this.#queue = [];
      this.#queued = 0;
    } finally {
      this.#writing = undefined;
    }
  }

  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure.error;
  }
}
