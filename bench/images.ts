import { createCipheriv, createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { run } from "./exec.ts";

const MiB = 1024 * 1024;

/** Sizes of the bench's workload. */
export interface Workload {
  /** Virtual size of the big images, in bytes. */
  virtualSize: number;
  /** Length of each run of data and of each hole after it, in bytes. */
  run: number;
  /** Images in the batch case. */
  batch: number;
  /** Images in the inspect case. */
  many: number;
}

/**
 * The workload: 4 GiB virtual holding 2 GiB of incompressible data in 8 MiB runs (data, hole,
 * data, …), or with `quick` 256 MiB holding 128 MiB.
 *
 * @example
 * ```ts
 * workload(false).virtualSize; // 4 GiB
 * ```
 */
export function workload(quick: boolean): Workload {
  return { virtualSize: (quick ? 256 : 4096) * MiB, run: 8 * MiB, batch: 4, many: 200 };
}

/**
 * Writes a sparse raw image: `run` bytes of AES-CTR keystream (incompressible, deterministic),
 * then a hole of `run` bytes, and so on up to `size`.
 *
 * @example
 * ```ts
 * await writeDataImage("/var/tmp/b/src.raw", 4 * 1024 ** 3, 8 * 1024 ** 2);
 * ```
 */
export async function writeDataImage(path: string, size: number, run: number): Promise<void> {
  const file = await open(path, "wx");
  try {
    await file.truncate(size);
    const cipher = createCipheriv("aes-256-ctr", Buffer.alloc(32, 7), Buffer.alloc(16, 0));
    const zero = Buffer.alloc(run);
    for (let offset = 0; offset < size; offset += 2 * run) {
      const data = cipher.update(zero.subarray(0, Math.min(run, size - offset)));
      await file.write(data, 0, data.length, offset);
    }
  } finally {
    await file.close();
  }
}

/**
 * Converts the raw image to qcow2 with qemu-img (as an image a user would bring).
 *
 * @example
 * ```ts
 * await toQcow2("src.raw", "src-1.qcow2");
 * ```
 */
export async function toQcow2(raw: string, qcow2: string): Promise<void> {
  await run("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", raw, qcow2]);
}

const SMALL_FORMATS = ["qcow2", "vmdk", "vpc", "vdi", "vhdx"] as const;

/**
 * Creates `count` small empty images (1 GiB virtual) of qcow2, vmdk, vhd, vdi and vhdx in turn,
 * four at a time; returns their paths.
 *
 * @example
 * ```ts
 * const files = await manyImages("/var/tmp/b/many", 200);
 * ```
 */
export async function manyImages(dir: string, count: number): Promise<string[]> {
  await run("mkdir", ["-p", dir]);
  const paths = Array.from({ length: count }, (_, i) =>
    join(dir, `img-${String(i).padStart(3, "0")}.${SMALL_FORMATS[i % SMALL_FORMATS.length]}`),
  );
  for (let i = 0; i < paths.length; i += 4) {
    await Promise.all(
      paths
        .slice(i, i + 4)
        .map((path, k) =>
          run("qemu-img", ["create", "-q", "-f", SMALL_FORMATS[(i + k) % SMALL_FORMATS.length], path, "1G"]),
        ),
    );
  }
  return paths;
}

/**
 * A tiny qcow2 (4 MiB virtual, 1 MiB of data) the warm-ups convert.
 *
 * @example
 * ```ts
 * await tinyImage("/var/tmp/b/tiny");
 * ```
 */
export async function tinyImage(dir: string): Promise<string> {
  const raw = join(dir, "tiny.raw");
  const qcow2 = join(dir, "tiny.qcow2");
  await writeDataImage(raw, 4 * MiB, MiB);
  await toQcow2(raw, qcow2);
  return qcow2;
}

/**
 * sha256 of a file, hex.
 *
 * @example
 * ```ts
 * const hex = await sha256("src-1.qcow2");
 * ```
 */
export async function sha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Which images the selected cases need. */
export interface Needs {
  /** qcow2 copies of the data image (0: none; the batch case needs `workload.batch`). */
  qcow2: number;
  many: boolean;
  /** The big raw data image (the queue case alone builds its own small ones). */
  raw: boolean;
}

/**
 * Builds the images into `dir`: the raw data image, `needs.qcow2` qcow2 conversions of it, the
 * small images and the tiny warm-up image. Returns their paths and the first qcow2's sha256.
 *
 * @example
 * ```ts
 * const images = await buildImages(work, workload(false), { qcow2: 4, many: true, raw: true }, console.error);
 * ```
 */
export async function buildImages(
  dir: string,
  load: Workload,
  needs: Needs,
  log: (line: string) => void,
): Promise<{
  raw: string;
  qcow2: string[];
  sha256: string;
  many: string[];
  tiny: string;
}> {
  const t0 = performance.now();
  const raw = join(dir, "src.raw");
  if (needs.raw) await writeDataImage(raw, load.virtualSize, load.run);
  const qcow2 = Array.from({ length: needs.qcow2 }, (_, i) => join(dir, `src-${i + 1}.qcow2`));
  for (let i = 0; i < qcow2.length; i += 2) await Promise.all(qcow2.slice(i, i + 2).map((path) => toQcow2(raw, path)));
  const digest = qcow2.length > 0 ? await sha256(qcow2[0]) : "";
  const many = needs.many ? await manyImages(join(dir, "many"), load.many) : [];
  await run("mkdir", ["-p", join(dir, "warm")]);
  const tiny = await tinyImage(dir);
  await run("sync", []);
  log(`images built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { raw, qcow2, sha256: digest, many, tiny };
}
