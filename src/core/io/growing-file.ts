import { open, rm, type FileHandle } from "node:fs/promises";
import { MAX_READ, type ImageReader } from "./reader.ts";
import { writeNonZero } from "./write-non-zero.ts";

/**
 * A file written front to back (a download) that readers can read while it grows: a read
 * waits until the bytes it asks for have been written, `size()` resolves as soon as the total
 * is declared (Content-Length) or else when the file is finished. A failure rejects every
 * waiting and later read with the same error.
 *
 * @example
 * ```ts
 * const file = await GrowingFile.create("/var/tmp/diskpipe/fetch-1/image");
 * const reader = file.reader();
 * const head = reader.read(0, 512); // waits
 * declare const chunk: Uint8Array;
 * await file.append(chunk);         // head resolves once 512 bytes are in
 * await file.finish();
 * ```
 */
export class GrowingFile {
  readonly path: string;
  readonly #handle: FileHandle;
  readonly #sparse: boolean;
  #written = 0;
  #stored = 0;
  #storedLimit: { bytes: number; error: () => Error } | undefined;
  #expected: number | undefined;
  #final: number | undefined;
  #failure: unknown;
  #limit: { bytes: number; error: () => Error } | undefined;
  #closed = false;
  readonly #waiters = new Set<() => void>();
  readonly #size: Promise<number>;
  #settleSize!: { resolve(size: number): void; reject(error: unknown): void };

  private constructor(path: string, handle: FileHandle, sparse: boolean) {
    this.path = path;
    this.#handle = handle;
    this.#sparse = sparse;
    this.#size = new Promise<number>((resolve, reject) => (this.#settleSize = { resolve, reject }));
    this.#size.catch(() => undefined);
  }

  /**
   * Creates the file (it must not exist), readable and writable by its owner only. `sparse`:
   * all-zero 64 KiB blocks are left as holes (for a raw image written straight to its
   * destination).
   */
  static async create(path: string, options: { sparse?: boolean } = {}): Promise<GrowingFile> {
    return new GrowingFile(path, await open(path, "wx+", 0o600), options.sparse === true);
  }

  /** Bytes written so far. */
  get written(): number {
    return this.#written;
  }

  /** Bytes stored as data so far: what was written, less the all-zero blocks a sparse file left as holes. */
  get stored(): number {
    return this.#stored;
  }

  /**
   * Fails the file with `error()` as soon as more than `bytes` are stored as data (holes do
   * not count): a bound on what a writer may cost in disk space, whatever its length.
   *
   * @example
   * ```ts
   * declare const file: GrowingFile;
   * file.limitStored(2 ** 30, () => new Error("more than 1 GiB of data"));
   * ```
   */
  limitStored(bytes: number, error: () => Error): void {
    this.#storedLimit = { bytes, error };
  }

  /** The declared total, if any. */
  get expected(): number | undefined {
    return this.#expected;
  }

  /** Whether all bytes are in. */
  get finished(): boolean {
    return this.#final !== undefined;
  }

  /**
   * Declares the total size (once): `size()` resolves now, reads past it return short at once.
   * A total above the {@link limit} throws the limit's error (and fails the file).
   */
  expect(size: number): void {
    if (this.#expected !== undefined) return;
    if (size < this.#written) {
      const error = new Error(`a total of ${size} bytes was declared after ${this.#written} were written`);
      this.fail(error);
      throw error;
    }
    this.#expected = size;
    this.#settleSize.resolve(size);
    this.#check(size);
  }

  /**
   * Refuses bytes past `bytes` (a bound is only ever lowered): a declared total or an append
   * beyond it fails the file with `error()`, as do every waiting and later read, and the
   * append or `expect` that crossed it throws that error.
   */
  limit(bytes: number, error: () => Error): void {
    if (this.#limit && this.#limit.bytes <= bytes) return;
    this.#limit = { bytes, error };
    try {
      this.#check(Math.max(this.#written, this.#expected ?? 0));
    } catch {
      // Failed above: the readers and the next append see it.
    }
  }

  #check(size: number): void {
    this.#enforce(this.#limit, size);
  }

  /** Fails the file (with its earlier failure, else the bound's error) and throws, when `value` passes `bound`. */
  #enforce(bound: { bytes: number; error: () => Error } | undefined, value: number): void {
    if (!bound || value <= bound.bytes) return;
    const error = this.#failure instanceof Error ? this.#failure : bound.error();
    this.fail(error);
    throw error;
  }

  /** Appends bytes at the end. */
  async append(chunk: Uint8Array): Promise<void> {
    this.#check(this.#written + chunk.length);
    if (this.#sparse) return this.#appendSparse(chunk);
    let done = 0;
    while (done < chunk.length) {
      const { bytesWritten } = await this.#handle.write(chunk, done, chunk.length - done, this.#written + done);
      done += bytesWritten;
    }
    this.#written += chunk.length;
    this.#addStored(chunk.length);
    this.#wake();
  }

  /**
   * Appends several chunks at the end with one `writev` (a download's write-behind batches).
   *
   * @example
   * ```ts
   * declare const file: GrowingFile, chunk1: Uint8Array, chunk2: Uint8Array;
   * await file.appendAll([chunk1, chunk2]);
   * ```
   */
  async appendAll(chunks: Uint8Array[]): Promise<void> {
    if (chunks.length === 1) return this.append(chunks[0]);
    let total = 0;
    for (const chunk of chunks) total += chunk.length;
    this.#check(this.#written + total);
    if (this.#sparse) return this.#appendSparse(Buffer.concat(chunks, total));
    const { bytesWritten } = await this.#handle.writev(chunks, this.#written);
    if (bytesWritten < total) {
      // A short writev (more buffers than IOV_MAX, a full disk): the rest goes out in plain writes.
      const rest = Buffer.concat(chunks, total).subarray(bytesWritten);
      let done = 0;
      while (done < rest.length) {
        const { bytesWritten: n } = await this.#handle.write(
          rest,
          done,
          rest.length - done,
          this.#written + bytesWritten + done,
        );
        done += n;
      }
    }
    this.#written += total;
    this.#addStored(total);
    this.#wake();
  }

  /** Reads back bytes already written (to compare a restarted download with what came before). */
  async readBack(offset: number, length: number): Promise<Uint8Array> {
    const end = Math.min(offset + length, this.#written);
    const buffer = new Uint8Array(Math.max(0, end - offset));
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await this.#handle.read(buffer, filled, buffer.length - filled, offset + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    // A sparse file's unwritten tail (zeroes not yet covered by a later write) reads short.
    return this.#sparse ? buffer : buffer.subarray(0, filled);
  }

  /**
   * Appends `length` zero bytes without writing them: a hole (a sparse file only, whose
   * `finish` sets the length that covers it).
   *
   * @example
   * ```ts
   * const file = await GrowingFile.create("/var/tmp/diskpipe/job/disk.raw", { sparse: true });
   * await file.skip(1 << 30); // 1 GiB of zeroes, no write
   * ```
   */
  skip(length: number): void {
    if (!this.#sparse) throw new Error("only a sparse file can skip");
    this.#check(this.#written + length);
    this.#written += length;
    this.#wake();
  }

  /** Marks the file complete: its size is what was written. */
  async finish(): Promise<void> {
    // Holes at the end are not written: the length makes them part of the file.
    if (this.#sparse) await this.#handle.truncate(this.#written);
    this.#final = this.#written;
    if (this.#expected === undefined) this.#settleSize.resolve(this.#written);
    this.#wake();
  }

  /** Fails every waiting and later read (and `size()`) with `error`. */
  fail(error: unknown): void {
    if (this.#failure !== undefined || this.#final !== undefined) return;
    this.#failure = error;
    this.#settleSize.reject(error);
    this.#wake();
  }

  /** Closes the file; `remove` also deletes it. Both are safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.fail(new Error("the download was closed"));
    await this.#handle.close().catch(() => undefined);
  }

  async remove(): Promise<void> {
    await this.close();
    await rm(this.path, { force: true });
  }

  /**
   * An ImageReader over the file as it grows. Closing the reader leaves the file alone.
   *
   * @example
   * ```ts
   * import { inspectImage } from "../inspect/index.ts";
   * declare const file: GrowingFile;
   * const result = await inspectImage(file.reader(), { claimed: "qcow2" });
   * ```
   */
  reader(): ImageReader {
    return {
      size: () => this.#size,
      read: (offset, length) => this.#read(offset, length),
      close: async () => {},
    };
  }

  async #read(offset: number, length: number): Promise<Uint8Array> {
    if (length > MAX_READ) throw new RangeError(`read of ${length} bytes exceeds the ${MAX_READ}-byte bound`);
    if (length <= 0 || offset < 0 || !Number.isSafeInteger(offset)) return new Uint8Array(0);
    for (;;) {
      if (this.#failure !== undefined) throw this.#failure;
      const limit = this.#final ?? this.#expected;
      const wanted = limit === undefined ? offset + length : Math.min(offset + length, limit);
      if (wanted <= offset) return new Uint8Array(0);
      if (this.#written >= wanted || this.#final !== undefined) return this.readBack(offset, wanted - offset);
      await new Promise<void>((resolve) => this.#waiters.add(resolve));
    }
  }

  async #appendSparse(bytes: Uint8Array): Promise<void> {
    const stored = await writeNonZero(this.#handle, bytes, this.#written);
    this.#written += bytes.length;
    this.#addStored(stored);
    this.#wake();
  }

  #addStored(bytes: number): void {
    this.#stored += bytes;
    this.#enforce(this.#storedLimit, this.#stored);
  }

  #wake(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }
}
