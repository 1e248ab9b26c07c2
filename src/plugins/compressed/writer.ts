import type { GrowingFile } from "../../plugin-api.ts";
import type { MemberSink } from "./tar.ts";

/** Bytes gathered before one write: fewer, larger writes (the zero-block test runs per 64 KiB). */
const BATCH = 1 << 20;
/** Bytes of the content's head handed to `onHead`. */
const HEAD = 4096;

/**
 * Writes the decompressed image into a sparse growing file (all-zero blocks stay holes) in
 * batches, and shows its first 4 KiB to `onHead` once (before they are written), so a nested
 * container is refused before anything else is read.
 *
 * @example
 * ```ts
 * import { GrowingFile } from "diskpipe/plugin";
 * const file = await GrowingFile.create("work/image", { sparse: true });
 * const writer = new ContentWriter(file, async (head) => console.log(head.length));
 * declare const chunk: Uint8Array;
 * await writer.write(chunk);
 * await writer.end();
 * ```
 */
export class ContentWriter implements MemberSink {
  readonly #file: GrowingFile;
  readonly #onHead: (head: Uint8Array) => Promise<void>;
  #batch: Uint8Array[] = [];
  #batched = 0;
  #headSeen = false;
  /** The batch being written while the next one is gathered (its failure surfaces at the next flush). */
  #inflight: Promise<void> = Promise.resolve();
  #inflightBytes = 0;

  constructor(file: GrowingFile, onHead: (head: Uint8Array) => Promise<void>) {
    this.#file = file;
    this.#onHead = onHead;
  }

  /** Bytes taken so far (written, batched or left as holes). */
  get bytes(): number {
    return this.#file.written + this.#inflightBytes + this.#batched;
  }

  /**
   * Appends decompressed bytes.
   *
   * @example
   * ```ts
   * declare const writer: ContentWriter;
   * await writer.write(new Uint8Array(65536));
   * ```
   */
  async write(chunk: Uint8Array): Promise<void> {
    this.#batch.push(chunk);
    this.#batched += chunk.length;
    if (!this.#headSeen && this.#batched >= HEAD) await this.#showHead();
    if (this.#batched >= BATCH) await this.#flush();
  }

  /**
   * Appends `length` zero bytes as a hole.
   *
   * @example
   * ```ts
   * declare const writer: ContentWriter;
   * await writer.hole(1 << 30);
   * ```
   */
  async hole(length: number): Promise<void> {
    let rest = length;
    if (!this.#headSeen) {
      // The head is shown as bytes: zeroes of a hole within the first 4 KiB are written out
      // (before the head is seen, fewer than 4 KiB are batched).
      const pad = Math.min(length, HEAD - this.#batched);
      await this.write(new Uint8Array(pad));
      rest -= pad;
    }
    if (rest === 0) return;
    await this.#flush();
    await this.#settle();
    this.#file.skip(rest);
  }

  /**
   * Writes what is batched and finishes the file (its length covers trailing holes).
   *
   * @example
   * ```ts
   * declare const writer: ContentWriter;
   * await writer.end();
   * ```
   */
  async end(): Promise<void> {
    if (!this.#headSeen) await this.#showHead();
    await this.#flush();
    await this.#settle();
    await this.#file.finish();
  }

  async #showHead(): Promise<void> {
    this.#headSeen = true;
    const all = Buffer.concat(this.#batch, this.#batched);
    await this.#onHead(all.subarray(0, HEAD));
  }

  /** Starts writing the batch once the one before is written: decoding goes on meanwhile. */
  async #flush(): Promise<void> {
    if (this.#batched === 0) return;
    const chunks = this.#batch;
    const bytes = this.#batched;
    this.#batch = [];
    this.#batched = 0;
    await this.#settle();
    this.#inflightBytes = bytes;
    this.#inflight = this.#file.appendAll(chunks).then(() => void (this.#inflightBytes = 0));
    this.#inflight.catch(() => undefined);
  }

  async #settle(): Promise<void> {
    await this.#inflight;
  }
}
