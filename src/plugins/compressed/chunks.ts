/**
 * Reads a byte stream in pieces of the caller's choosing: up to `max` bytes at a time, or an
 * exact count (a tar header), with what was read ahead kept for the next call.
 *
 * @example
 * ```ts
 * import { Readable } from "node:stream";
 * const reader = new ChunkReader(Readable.from([Buffer.alloc(1000)]));
 * const header = await reader.readExact(512); // 512 bytes, or fewer at the end of the stream
 * const rest = await reader.read(4096);       // the other 488
 * ```
 */
export class ChunkReader {
  readonly #iterator: AsyncIterator<Uint8Array>;
  #pending: Uint8Array | undefined;
  #ended = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.#iterator = source[Symbol.asyncIterator]();
  }

  /**
   * Up to `max` bytes (at least one), or null at the end of the stream.
   *
   * @example
   * ```ts
   * declare const reader: ChunkReader;
   * for (let chunk = await reader.read(1 << 20); chunk; chunk = await reader.read(1 << 20)) console.log(chunk.length);
   * ```
   */
  async read(max: number): Promise<Uint8Array | null> {
    let chunk = this.#pending;
    this.#pending = undefined;
    while (!chunk || chunk.length === 0) {
      if (this.#ended) return null;
      const next = await this.#iterator.next();
      if (next.done) {
        this.#ended = true;
        return null;
      }
      chunk = next.value;
    }
    if (chunk.length > max) {
      this.#pending = chunk.subarray(max);
      return chunk.subarray(0, max);
    }
    return chunk;
  }

  /**
   * Exactly `length` bytes, or fewer when the stream ends first.
   *
   * @example
   * ```ts
   * declare const reader: ChunkReader;
   * const block = await reader.readExact(512);
   * if (block.length < 512) throw new Error("cut short");
   * ```
   */
  async readExact(length: number): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let got = 0;
    while (got < length) {
      const chunk = await this.read(length - got);
      if (!chunk) break;
      parts.push(chunk);
      got += chunk.length;
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, got);
  }

  /**
   * Puts bytes back in front of the stream (what a look at the head took).
   *
   * @example
   * ```ts
   * declare const reader: ChunkReader;
   * const head = await reader.readExact(512);
   * reader.unread(head);
   * ```
   */
  unread(bytes: Uint8Array): void {
    this.#pending = this.#pending ? Buffer.concat([bytes, this.#pending]) : bytes;
  }

  /**
   * Stops the stream (the iterator's `return`), e.g. when the content was refused.
   *
   * @example
   * ```ts
   * declare const reader: ChunkReader;
   * await reader.close();
   * ```
   */
  async close(): Promise<void> {
    this.#ended = true;
    await this.#iterator.return?.();
  }
}
