import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { writeNonZero } from "./write-non-zero.ts";

const PAGE = 4096;

/**
 * A new file written at chosen positions that leaves holes where the data is zero: pages of
 * zeroes (4 KiB, aligned to the file position) are skipped and `finish` sets the final length.
 * The file is created exclusively (`wx`) and never through a symbolic link.
 *
 * @example
 * ```ts
 * const out = await SparseFile.create("work/coalesced.raw");
 * declare const bytes: Uint8Array, virtualSize: number;
 * await out.write(0, bytes);
 * await out.finish(virtualSize);
 * ```
 */
export class SparseFile {
  readonly path: string;
  readonly #handle: FileHandle;
  #closed = false;

  private constructor(path: string, handle: FileHandle) {
    this.path = path;
    this.#handle = handle;
  }

  /**
   * Creates the file; fails if anything already exists at `path`.
   *
   * @example
   * ```ts
   * import { join } from "node:path";
   * declare const dir: string;
   * const file = await SparseFile.create(join(dir, "0.vhd"));
   * ```
   */
  static async create(path: string): Promise<SparseFile> {
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    return new SparseFile(path, await open(path, flags, 0o600));
  }

  /**
   * Writes `data` at `position`, skipping its all-zero pages.
   *
   * @example
   * ```ts
   * declare const file: SparseFile, chunk: Uint8Array;
   * await file.write(1 << 20, chunk);
   * ```
   */
  async write(position: number, data: Uint8Array): Promise<void> {
    await writeNonZero(this.#handle, data, position, PAGE);
  }

  /**
   * Sets the file's length (holes up to it read as zero) and closes it.
   *
   * @example
   * ```ts
   * declare const file: SparseFile;
   * await file.finish(10 * 1024 * 1024);
   * ```
   */
  async finish(length: number): Promise<void> {
    await this.#handle.truncate(length);
    await this.close();
  }

  /**
   * Closes the file without setting its length; safe to call twice.
   *
   * @example
   * ```ts
   * declare const file: SparseFile;
   * await file.close();
   * ```
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#handle.close();
  }
}
