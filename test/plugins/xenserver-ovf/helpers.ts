import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyWrites, buildVhd, randomId, type DiskWrite, type VhdLayout } from "./vhd-writer.ts";

import type { TarEntry } from "../../helpers/tar.ts";

export { tarball, type TarEntry } from "../../helpers/tar.ts";

/** Entries `0.vhd` … for the given files, with an optional `./` prefix. @example chainEntries(files, "./") */
export function chainEntries(files: readonly Uint8Array[], prefix = ""): TarEntry[] {
  return files.map((data, index) => ({ header: { name: `${prefix}${index}.vhd` }, data }));
}

const made: string[] = [];

/** A fresh temporary directory, removed by {@link removeTempDirs}. @example const dir = await tempDir(); */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "diskpipe-xs-"));
  made.push(dir);
  return dir;
}

/** Removes every directory {@link tempDir} made. @example after(removeTempDirs); */
export async function removeTempDirs(): Promise<void> {
  await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/** Names in a directory, sorted. @example assert.deepEqual(await listing(dir), []); */
export async function listing(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

/** A small deterministic generator (mulberry32) so failing cases can be replayed. */
export function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random sector-aligned writes of patterned data (a few of them all zero). */
export function randomWrites(random: () => number, size: number, count: number, maxSectors = 2048): DiskWrite[] {
  const sectors = size / 512;
  const writes: DiskWrite[] = [];
  for (let i = 0; i < count; i++) {
    const start = Math.floor(random() * sectors);
    const length = Math.max(1, Math.min(sectors - start, Math.floor(random() * maxSectors) + 1));
    const data = Buffer.alloc(length * 512);
    if (random() > 0.1) {
      const tag = Math.floor(random() * 256);
      for (let j = 0; j < data.length; j++) data[j] = (tag + j * 7 + (j >> 9)) & 0xff;
    }
    writes.push({ offset: start * 512, data });
  }
  return writes;
}

/** Parameters of a generated chain. */
export interface ChainPlan {
  size: number;
  base: "fixed" | "dynamic";
  /** Writes of the base first, then of each differencing layer up to the leaf. */
  layers: DiskWrite[][];
  blockSize?: number;
  filler?: number;
  descending?: boolean;
}

/**
 * Builds VHD files for a chain (returned leaf first, as `0.vhd` …) and the expected disk,
 * computed by applying the same writes to a plain buffer.
 *
 * @example
 * ```ts
 * const { files, expected } = buildChain({ size: 3 << 20, base: "dynamic", layers: [baseWrites, leafWrites] });
 * ```
 */
export function buildChain(plan: ChainPlan): { files: Buffer[]; expected: Buffer } {
  const expected = Buffer.alloc(plan.size);
  const built: Buffer[] = [];
  let parentId: Uint8Array | undefined;
  plan.layers.forEach((writes, depth) => {
    applyWrites(expected, writes);
    const layout: VhdLayout = {
      type: depth === 0 ? plan.base : "differencing",
      size: plan.size,
      blockSize: plan.blockSize,
      writes,
      parentId,
      parentName: `layer-${depth - 1}.vhd`,
      filler: depth === 0 ? 0 : plan.filler,
      descending: plan.descending,
      uniqueId: randomId(),
    };
    const vhd = buildVhd(layout);
    parentId = vhd.uniqueId;
    built.push(vhd.bytes);
  });
  return { files: built.reverse(), expected };
}
