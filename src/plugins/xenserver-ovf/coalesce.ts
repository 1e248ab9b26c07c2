import { rm } from "node:fs/promises";
import { SparseFile } from "../../plugin-api.ts";
import type { VhdFile } from "./vhd.ts";

const SECTOR = 512;
const MAX_CHUNK = 2 * 1024 * 1024;
const PROGRESS_STEP = 64 * 1024 * 1024;

/**
 * Options of {@link coalesceChain}.
 *
 * @example
 * ```ts
 * const options: CoalesceOptions = { signal: ctx.signal, onProgress: (done, total) => ctx.progress(done, total) };
 * ```
 */
export interface CoalesceOptions {
  signal?: AbortSignal;
  /** Called as the output grows, with bytes of the virtual disk done and the total. */
  onProgress?: (bytes: number, total: number) => void;
}

/**
 * What {@link coalesceChain} wrote.
 *
 * @example
 * ```ts
 * declare const chain: VhdFile[];
 * const { size, dataBytes } = await coalesceChain(chain, "out.raw");
 * ```
 */
export interface CoalesceResult {
  /** Virtual size = length of the raw file. */
  size: number;
  /** Bytes of chunks that held data from some member (before zero pages were skipped). */
  dataBytes: number;
}

/**
 * Flattens a validated chain (leaf first, base last) into a new sparse raw image at `outPath`:
 * for every sector the leaf-most member that stores it wins, sectors no member stores read as zero,
 * and all-zero pages stay holes. It walks the disk in chunks of at most 2 MiB that never straddle
 * a block of any member, so memory stays at one chunk plus one cached bitmap per member. The output
 * is created exclusively and removed again if anything fails.
 *
 * @example
 * ```ts
 * import { closeChain, openChain } from "./chain.ts";
 * const chain = await openChain(["w/0.vhd", "w/1.vhd"]);
 * try {
 *   await coalesceChain(chain, "w/coalesced.raw", { onProgress: (done, total) => console.log(done / total) });
 * } finally { await closeChain(chain); }
 * ```
 */
export async function coalesceChain(
  members: readonly VhdFile[],
  outPath: string,
  options: CoalesceOptions = {},
): Promise<CoalesceResult> {
  if (members.length === 0) throw new RangeError("an empty chain has nothing to coalesce");
  const size = members[members.length - 1].info.size;
  const chunkSize = Math.min(MAX_CHUNK, ...members.map((member) => member.info.blockSize ?? MAX_CHUNK));
  const out = await SparseFile.create(outPath);
  try {
    const buffer = new Uint8Array(chunkSize);
    const need = new Uint8Array(chunkSize / SECTOR);
    let dataBytes = 0;
    let dirty = false;
    let reported = 0;
    for (let offset = 0; offset < size; offset += chunkSize) {
      options.signal?.throwIfAborted();
      const length = Math.min(chunkSize, size - offset);
      const chunk = buffer.subarray(0, length);
      if (dirty) chunk.fill(0);
      dirty = await fillChunk(members, offset, chunk, need.subarray(0, length / SECTOR));
      if (dirty) {
        dataBytes += length;
        await out.write(offset, chunk);
      }
      const done = offset + length;
      if (options.onProgress && (done - reported >= PROGRESS_STEP || done === size)) {
        options.onProgress(done, size);
        reported = done;
      }
    }
    await out.finish(size);
    return { size, dataBytes };
  } catch (error) {
    await out.close().catch(() => {});
    await rm(outPath, { force: true });
    throw error;
  }
}

/** Fills one zeroed chunk from the chain; returns whether any member stored data in it. */
async function fillChunk(
  members: readonly VhdFile[],
  offset: number,
  chunk: Uint8Array,
  need: Uint8Array,
): Promise<boolean> {
  let remaining = need.length;
  let partial = false;
  let filled = false;
  for (const member of members) {
    const range = await member.locate(offset, chunk.length);
    if (range && range.present === "all" && !partial) {
      await member.read(range.fileOffset, chunk);
      return true;
    }
    if (range) {
      if (!partial) need.fill(1);
      partial = true;
      const present = range.present;
      let sector = 0;
      while (sector < need.length) {
        if (!need[sector] || (present !== "all" && !present[sector])) {
          sector++;
          continue;
        }
        const start = sector;
        while (sector < need.length && need[sector] && (present === "all" || present[sector])) need[sector++] = 0;
        await member.read(range.fileOffset + start * SECTOR, chunk.subarray(start * SECTOR, sector * SECTOR));
        remaining -= sector - start;
        filled = true;
      }
    }
    // Only differencing disks defer to a parent; a fixed or dynamic disk is where the chain ends.
    if (remaining === 0 || member.info.type !== "differencing") break;
  }
  return filled;
}
