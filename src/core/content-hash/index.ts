import { open, rm } from "node:fs/promises";
import { join } from "node:path";
import { DiskpipeError } from "../errors.ts";
import type { PlanImage, QemuSecret } from "../job.ts";
import type { QemuImg, QemuLimits } from "../qemu-img.ts";
import { ContentHasher } from "./construction.ts";
import { readRanges, type ReadRange } from "./extents.ts";
import { feedRanges, type BlockReader, type FeedOptions } from "./feed.ts";
import { NbdClient } from "./nbd-client.ts";
import { ParallelHasher } from "./parallel.ts";
import { socketDir } from "./socket-dir.ts";

export { BLOCK_SIZE, CONTENT_HASH_PREFIX, ContentHasher, parseContentHash } from "./construction.ts";

/** What hashing one disk found and cost. */
export interface ContentHashResult {
  /** `blk-sha256:<64 hex>`. */
  contentHash: string;
  /** Bytes read (the rest was known to be zero from `qemu-img map`). */
  readBytes: number;
}

/** Options of {@link hashImage}. */
export interface HashImageOptions extends FeedOptions {
  /** A private directory for qemu-nbd's socket (non-raw images). */
  workDir: string;
  /** Limits of the qemu-nbd process (those of a conversion of the image). */
  limits: QemuLimits;
  secrets?: QemuSecret[];
  /** Worker threads hashing the streams (1: the calling thread). */
  threads?: number;
}

/**
 * The content hash of an image the native inspector accepted, of `size` guest-visible bytes:
 * `qemu-img map` says which extents hold data; a raw image's are read natively, any other
 * format's through a read-only qemu-nbd export (always with `-f`); holes and zero extents are
 * never read.
 *
 * @example
 * ```ts
 * declare const qemu: QemuImg;
 * const image = { path: "disk.qcow2", format: "qcow2", driver: "qcow2", options: {} };
 * const { contentHash } = await hashImage(qemu, image, 1 << 30, { workDir: "/tmp/job", limits: { cpuSeconds: 120, addressSpace: 2 ** 31 } });
 * ```
 */
export async function hashImage(
  qemu: QemuImg,
  image: PlanImage,
  size: number,
  options: HashImageOptions,
): Promise<ContentHashResult> {
  // A raw file is read directly; a raw byte range of a file goes through qemu-nbd like any other image.
  const raw = image.driver === "raw" && Object.keys(image.options).length === 0 && !image.region;
  const ranges = await dataRanges(qemu, image, size, raw, options.secrets);
  const threads = options.threads ?? 1;
  const hasher = threads > 1 ? new ParallelHasher(size, threads) : new ContentHasher(size);
  const feed: FeedOptions = { ...options, ...(threads > 1 && { allocate: ParallelHasher.buffer }) };
  try {
    const readBytes = raw
      ? await withFile(image.path, size, (reader) => feedRanges(hasher, ranges, reader, feed))
      : await withNbd(qemu, image, size, options, (reader) => feedRanges(hasher, ranges, reader, feed));
    return { contentHash: await hasher.digest(), readBytes };
  } finally {
    if (hasher instanceof ParallelHasher) await hasher.close();
  }
}

/** The ranges to read; for a raw file whose map fails (a device qemu cannot map), all of it. */
async function dataRanges(
  qemu: QemuImg,
  image: PlanImage,
  size: number,
  raw: boolean,
  secrets: QemuSecret[] = [],
): Promise<ReadRange[]> {
  if (size === 0) return [];
  try {
    return readRanges(await qemu.map(image, secrets), size);
  } catch (error) {
    if (!raw || (error as { code?: string }).code === "aborted") throw error;
    return [{ start: 0, end: size }];
  }
}

async function withFile<T>(path: string, size: number, use: (reader: BlockReader) => Promise<T>): Promise<T> {
  const handle = await open(path, "r");
  try {
    return await use({
      async read(buffer, length, offset) {
        let filled = 0;
        while (filled < length) {
          const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
          if (bytesRead === 0)
            throw new DiskpipeError("io-failed", `${path} ended at ${offset + filled} bytes, before its size ${size}`);
          filled += bytesRead;
        }
      },
    });
  } finally {
    await handle.close();
  }
}

async function withNbd<T>(
  qemu: QemuImg,
  image: PlanImage,
  size: number,
  options: HashImageOptions,
  use: (reader: BlockReader) => Promise<T>,
): Promise<T> {
  const dir = await socketDir(options.workDir, "s");
  const stop = new AbortController();
  const onAbort = () => stop.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  let ended = false;
  const server = qemu.serveNbd(image, join(dir, "s"), options.limits, stop.signal, options.secrets).finally(() => {
    ended = true;
  });
  server.catch(() => undefined);
  try {
    const connecting = NbdClient.connect(join(dir, "s"), () => ended);
    connecting.catch(() => undefined);
    const client = await Promise.race([connecting, server.then(() => undefined)]);
    if (!client) throw new DiskpipeError("qemu-img-failed", "qemu-nbd ended before serving the image");
    try {
      if (client.size !== size)
        throw new DiskpipeError("qemu-img-failed", `qemu-nbd exports ${client.size} bytes, not the inspected ${size}`);
      return await use(client);
    } finally {
      await client.close();
    }
  } catch (error) {
    // When qemu-nbd ended on its own, its failure says more than the connection's.
    const own = ended
      ? await server.then(
          () => undefined,
          (why: unknown) => why,
        )
      : undefined;
    stop.abort();
    throw own ?? error;
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    // qemu-nbd serves until it is stopped (--persistent): a stray connection cannot end it early.
    stop.abort();
    await server.catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}
