import { once } from "node:events";
import { createGunzip, type Gunzip } from "node:zlib";
import { SparseFile } from "../../plugin-api.ts";
import { OvaRefusal } from "./refusal.ts";

/**
 * Writes one disk file of an appliance into the work directory as its members arrive: the
 * stored bytes of each chunk in order, gunzipped first when the descriptor says
 * `ovf:compression="gzip"`, all-zero blocks left as holes. What it writes is bounded by
 * `limit` (a decompression bomb stops at once).
 *
 * @example
 * ```ts
 * declare const chunk: Uint8Array; // the next bytes of the member
 * const writer = await DiskWriter.create("/work/job/disk1.vmdk", { gzip: false, limit: 2 ** 34 });
 * await writer.write(chunk);
 * await writer.finish();
 * ```
 */
export class DiskWriter {
  readonly path: string;
  readonly #file: SparseFile;
  readonly #limit: number;
  readonly #gunzip: Gunzip | undefined;
  readonly #pumping: Promise<void> | undefined;
  #written = 0;
  #closed = false;

  private constructor(path: string, file: SparseFile, gzip: boolean, limit: number) {
    this.path = path;
    this.#file = file;
    this.#limit = limit;
    if (gzip) {
      const gunzip = createGunzip();
      this.#gunzip = gunzip;
      this.#pumping = this.#pump(gunzip);
      this.#pumping.catch(() => undefined);
    }
  }

  /** Creates the file (exclusively: never through a link, never over another). */
  static async create(path: string, options: { gzip: boolean; limit: number }): Promise<DiskWriter> {
    return new DiskWriter(path, await SparseFile.create(path), options.gzip, options.limit);
  }

  /** The bytes of the disk file written so far (after decompression). */
  get written(): number {
    return this.#written;
  }

  /** Takes the next stored bytes of the file. */
  async write(chunk: Uint8Array): Promise<void> {
    const gunzip = this.#gunzip;
    if (!gunzip) return this.#store(chunk);
    if (!gunzip.write(chunk)) await Promise.race([once(gunzip, "drain"), this.#pumping]);
  }

  /** Ends the file: the gzip stream must end exactly here. Sets its size and closes it. */
  async finish(): Promise<void> {
    if (this.#gunzip) {
      this.#gunzip.end();
      await this.#pumping;
    }
    await this.#file.finish(this.#written);
    await this.close();
  }

  /** Closes the file (on failure: the caller removes the directory). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#gunzip?.destroy();
    await this.#file.close();
  }

  async #pump(gunzip: Gunzip): Promise<void> {
    try {
      for await (const chunk of gunzip as AsyncIterable<Buffer>) await this.#store(chunk);
    } catch (error) {
      if (error instanceof OvaRefusal) throw error;
      const code = (error as { code?: unknown }).code;
      throw new OvaRefusal(
        code === "Z_BUF_ERROR" ? "truncated" : "archive-entry",
        code === "Z_BUF_ERROR" ? "a gzip-compressed disk file is cut short" : "a gzip-compressed disk file is corrupt",
      );
    }
  }

  async #store(chunk: Uint8Array): Promise<void> {
    if (this.#written + chunk.length > this.#limit)
      throw new OvaRefusal(
        "disk-too-large",
        `a disk file grows past ${this.#limit} bytes, more than its capacity allows`,
      );
    await this.#file.write(this.#written, chunk);
    this.#written += chunk.length;
  }
}
