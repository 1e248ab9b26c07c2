import { open, rm, stat } from "node:fs/promises";
import { openFileReader, type GrowingFile, type ImageReader } from "../../plugin-api.ts";
import { Refusal } from "./refusal.ts";

/** What a hand-over decodes under: the bound and its refusal's message. */
interface Chosen {
  bytes: number;
  tooLarge: string;
}

/** The hand-over under way: the piped decode's file and how much of it is the head, the second decode. */
interface Switched {
  file: GrowingFile;
  head: number;
  path: string;
  decoded: Promise<void>;
}

/** Bytes compared at a time when the two decodes' heads are checked against each other. */
const COMPARE_BYTES = 1 << 20;

/**
 * A piped zstd decode handing over to zstd writing the whole file itself (direct.ts), for a
 * whole local file with no tar inside, once a hard bound on the decompressed size is known
 * (`--max-size`, or the inner header's) and the inspector has judged the head safe or waits
 * for the end. The inspection goes on across the hand-over through {@link reader}: the head
 * from what the piped decode wrote, the rest (and the size) from the second decode's file once
 * it is complete; the two heads must be the same bytes, so the verdict covers exactly the file
 * handed on.
 *
 * @example
 * ```ts
 * const handover = new Handover(Infinity);
 * handover.bound(2 ** 31, "it decompresses to more than 2 GiB");
 * handover.take(); // true: handed over under 2 GiB
 * ```
 */
export class Handover {
  #bytes = Infinity;
  // Stryker disable next-line StringLiteral: set by bound() before a hand-over can be taken (a finite bound needs one)
  #tooLarge = "";
  #closed = false;
  #chosen: Chosen | undefined;
  #switched: Switched | undefined;
  #opened: Promise<ImageReader> | undefined;
  readonly #stop = new AbortController();
  readonly #ceiling: number;

  /**
   * `ceiling`: the largest bound a hand-over may run under. The second decode is bounded by its
   * file's size (holes included): without `--max-size`, the piped path's bound on the data
   * alone (64 MiB plus 1000 bytes per compressed byte) is passed as the ceiling, so a header
   * stating a huge virtual size over a small stream stays on the piped path and its data bound.
   */
  constructor(ceiling: number) {
    this.#ceiling = ceiling;
  }

  /** The bound the second decode runs under, once handed over. */
  get chosen(): Chosen | undefined {
    return this.#chosen;
  }

  /** Whether the second decode has been started. */
  get started(): boolean {
    return this.#switched !== undefined;
  }

  /** A hard bound on the decompressed file's size and the refusal's message past it (the smallest counts). */
  bound(bytes: number, tooLarge: string): void {
    if (bytes < this.#bytes) ((this.#bytes = bytes), (this.#tooLarge = tooLarge));
  }

  /** The decoded stream is a tar (its member is extracted through the pipe), or has ended: no hand-over. */
  close(): void {
    this.#closed = true;
  }

  /** Whether the decode may be handed over now (at most once); the bound is then `chosen`. */
  take(): boolean {
    if (this.#closed || this.#bytes > this.#ceiling || !Number.isFinite(this.#bytes) || this.#chosen) return false;
    this.#chosen = { bytes: this.#bytes, tooLarge: this.#tooLarge };
    return true;
  }

  /**
   * Starts the second decode into `path` (`decode` is given the signal that stops it); what
   * `file` holds so far stays the head the inspector reads. Fails `file` so that the
   * inspector's waiting reads come back through {@link reader}.
   */
  start(file: GrowingFile, path: string, decode: (signal: AbortSignal) => Promise<void>): void {
    const decoded = decode(this.#stop.signal);
    decoded.catch(() => undefined);
    this.#switched = { file, head: file.written, path, decoded };
    file.fail(new Error("handed over to the second decoder"));
  }

  /** The inspector's reader: `inner` until the hand-over, then the head and the second decode's file. */
  reader(inner: ImageReader): ImageReader {
    const after = <T>(first: () => Promise<T>, then: () => Promise<T>) =>
      this.#switched ? then() : first().catch((error: unknown) => (this.#switched ? then() : Promise.reject(error)));
    return {
      size: () => after(inner.size, () => this.#size()),
      read: (offset, length) =>
        after(
          () => inner.read(offset, length),
          () => this.#read(offset, length),
        ),
      close: () => inner.close(),
    };
  }

  /**
   * Waits for the second decode, checks that its head is what the inspector read and that it
   * stays within the bound known now, and returns its path.
   */
  async finished(): Promise<string> {
    const switched = this.#need();
    await switched.decoded;
    const size = (await stat(switched.path)).size;
    if (size > this.#bytes) throw new Refusal("decompression-bomb", this.#tooLarge);
    const handle = await open(switched.path, "r");
    try {
      // Stryker disable next-line EqualityOperator: a last round at the head's end compares 0 bytes
      for (let at = 0; at < switched.head; at += COMPARE_BYTES) {
        const length = Math.min(COMPARE_BYTES, switched.head - at);
        const first = await switched.file.readBack(at, length);
        const second = Buffer.alloc(length);
        // A short read leaves zeros: a second file shorter than the head is told by the count, not the bytes.
        const { bytesRead } = await handle.read(second, 0, length, at);
        const same = Buffer.compare(Buffer.from(first.buffer, first.byteOffset, first.byteLength), second) === 0;
        if (bytesRead !== length || !same)
          throw new Refusal(
            "compressed-corrupt",
            "it decoded to different bytes the second time: it changed while it was read",
          );
      }
    } finally {
      await handle.close();
      await this.#closeWhole();
    }
    return switched.path;
  }

  /** Stops the second decode, if any, and removes its file. */
  async cancel(): Promise<void> {
    if (!this.#switched) return;
    this.#stop.abort();
    await this.#switched.decoded.catch(() => undefined);
    await this.#closeWhole();
    await rm(this.#switched.path, { force: true });
  }

  #need(): Switched {
    if (!this.#switched) throw new Error("not handed over");
    return this.#switched;
  }

  /** The second decode's file once it is complete, opened once for every read after the head. */
  #whole(): Promise<ImageReader> {
    const switched = this.#need();
    this.#opened ??= switched.decoded.then(() => openFileReader(switched.path));
    return this.#opened;
  }

  async #size(): Promise<number> {
    return (await this.#whole()).size();
  }

  async #read(offset: number, length: number): Promise<Uint8Array> {
    const switched = this.#need();
    if (offset + length <= switched.head) return switched.file.readBack(offset, length);
    return (await this.#whole()).read(offset, length);
  }

  async #closeWhole(): Promise<void> {
    const opened = this.#opened;
    this.#opened = undefined;
    await opened?.then((reader) => reader.close()).catch(() => undefined);
  }
}
