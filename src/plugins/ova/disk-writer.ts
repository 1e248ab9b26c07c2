import { once } from "node:events";
import { createGunzip, type Gunzip } from "node:zlib";
import { GrowingFile } from "../../plugin-api.ts";
import { OvaRefusal } from "./refusal.ts";

/** Options of {@link DiskWriter.create}. */
export interface DiskWriterOptions {
  /** The member is gzip-compressed (`ovf:compression="gzip"`). */
  gzip: boolean;
  /** The most bytes this disk file may have (from its capacity). */
  limit: number;
  /** Called after each write with the bytes it stored as data (all-zero blocks are holes, not data); it may throw to refuse. */
  onStored?: (bytes: number) => void;
}

/**
 * Writes one disk file of an appliance into the work directory as its members arrive: the
 * stored bytes of each chunk in order, gunzipped first when the descriptor says
 * `ovf:compression="gzip"`, all-zero blocks left as holes. What it writes is bounded by
 * `limit` (a decompression bomb stops at once); a gzip stream must end exactly where the file
 * ends (no data after it, none missing).
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
  readonly #file: GrowingFile;
  readonly #options: DiskWriterOptions;
  readonly #gunzip: Gunzip | undefined;
  readonly #pumping: Promise<void> | undefined;
  #written = 0;
  #given = 0;
  #pumped = false;

  private constructor(path: string, file: GrowingFile, options: DiskWriterOptions) {
    this.path = path;
    this.#file = file;
    this.#options = options;
    if (options.gzip) {
      const gunzip = createGunzip();
      this.#gunzip = gunzip;
      this.#pumping = this.#pump(gunzip);
      this.#pumping.catch(() => undefined);
    }
  }

  /** Creates the file (exclusively: never over another file or a link). */
  static async create(path: string, options: DiskWriterOptions): Promise<DiskWriter> {
    return new DiskWriter(path, await GrowingFile.create(path, { sparse: true }), options);
  }

  /** Takes the next stored bytes of the file. */
  async write(chunk: Uint8Array): Promise<void> {
    const gunzip = this.#gunzip;
    if (!gunzip) return this.#store(chunk);
    if (this.#pumped) throw trailing();
    this.#given += chunk.length;
    if (gunzip.write(chunk)) return;
    // The next write once these bytes are taken (data after the end of the stream is refused by the next write or by finish).
    try {
      await Promise.race([once(gunzip, "drain"), this.#pumping]);
    } catch (error) {
      throw refusalOf(error);
    }
  }

  /** Ends the file: the gzip stream must end exactly here. Sets its size and closes it. */
  async finish(): Promise<void> {
    const gunzip = this.#gunzip;
    if (gunzip) {
      gunzip.end();
      await this.#pumping;
      if (gunzip.bytesWritten !== this.#given) throw trailing();
    }
    await this.#file.finish();
    await this.close();
  }

  /** Closes the file (again: nothing happens; on failure: the caller removes the directory). */
  async close(): Promise<void> {
    this.#gunzip?.destroy();
    await this.#file.close();
  }

  async #pump(gunzip: Gunzip): Promise<void> {
    try {
      for await (const chunk of gunzip as AsyncIterable<Buffer>) await this.#store(chunk);
    } catch (error) {
      throw refusalOf(error);
    } finally {
      this.#pumped = true;
    }
  }

  async #store(chunk: Uint8Array): Promise<void> {
    if (this.#written + chunk.length > this.#options.limit)
      throw new OvaRefusal(
        "disk-too-large",
        `a disk file grows past ${this.#options.limit} bytes, more than its capacity allows`,
      );
    const before = this.#file.stored;
    await this.#file.append(chunk);
    this.#written += chunk.length;
    this.#options.onStored?.(this.#file.stored - before);
  }
}

function trailing(): OvaRefusal {
  return new OvaRefusal("archive-entry", "a gzip-compressed disk file has data after the end of its gzip stream");
}

/** A zlib failure as the refusal it means; anything else (a refusal, an abort, EIO) unchanged. */
function refusalOf(error: unknown): unknown {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code === "Z_BUF_ERROR") return new OvaRefusal("truncated", "a gzip-compressed disk file is cut short");
  if (typeof code === "string" && code.startsWith("Z_"))
    return new OvaRefusal("archive-entry", "a gzip-compressed disk file is corrupt");
  return error;
}
