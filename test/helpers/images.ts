import { execFile, execFileSync, spawnSync } from "node:child_process";
import {
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  writeFileSync,
  writeSync,
  closeSync,
  ftruncateSync,
} from "node:fs";
import { promisify } from "node:util";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The temporary directories of this test process not yet cleaned up. */
const live = new Set<string>();
let watching = false;

/**
 * A fresh temporary directory, removed by the returned cleanup, or when the test process is
 * ended by SIGTERM before that (a mutation run's runner stops a test process at its first
 * failure: without this, each stopped run left its images behind, hundreds of MiB each).
 */
export function tempDir(prefix = "diskpipe-test-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (!watching) {
    watching = true;
    process.once("SIGTERM", () => {
      for (const each of live) rmSync(each, { recursive: true, force: true });
      process.exit(143);
    });
  }
  live.add(dir);
  return {
    dir,
    cleanup: () => {
      live.delete(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs qemu-img (tests may; diskpipe's own code only through its adapter). */
export function qemuImg(...args: string[]): string {
  return execFileSync("qemu-img", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** A sparse raw image of `size` bytes with recognisable data at a few offsets. */
export function makeRaw(path: string, size: number, seed = 1): string {
  const fd = openSync(path, "w");
  try {
    ftruncateSync(fd, size);
    const block = Buffer.alloc(64 * 1024);
    for (let i = 0; i < block.length; i++) block[i] = (i * 131 + seed * 17) & 0xff;
    for (const at of [0, Math.floor(size / 3), size - block.length]) {
      if (at >= 0 && at + block.length <= size) writeSync(fd, block, 0, block.length, at - (at % 512));
    }
  } finally {
    closeSync(fd);
  }
  return path;
}

/** A raw disk of `size` bytes of data with no zero run, so that a throttled conversion takes size / rate. */
export function makeDataImage(path: string, size: number, seed: number): string {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4) bytes.writeUInt32LE((i * 2654435761 + seed * 97) >>> 0, i);
  writeFileSync(path, bytes);
  return path;
}

/** A qcow2 naming a backing file (`base.qcow2`, made beside it): the hostile image most tests refuse. */
export function makeBackedQcow2(dir: string, name = "evil.qcow2"): string {
  const base = join(dir, "base.qcow2");
  qemuImg("create", "-q", "-f", "qcow2", base, "1M");
  const evil = join(dir, name);
  qemuImg("create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", evil);
  return evil;
}

/** Converts a raw image into `format` with qemu-img; returns the new path. */
export function makeImage(raw: string, format: string, path: string, options: string[] = []): string {
  qemuImg("convert", "-f", "raw", "-O", format, ...options, raw, path);
  return path;
}

/** `qemu-img compare` with explicit formats; true when the disks read the same. */
export function sameDisk(a: string, formatA: string, b: string, formatB: string): boolean {
  return spawnSync("qemu-img", ["compare", "-f", formatA, "-F", formatB, a, b], { stdio: "ignore" }).status === 0;
}

/** File names in a directory (for "nothing left behind" checks). */
export function listDir(dir: string): string[] {
  return readdirSync(dir).sort();
}

/** qemu driver names by diskpipe's conventional names. */
export const DRIVER: Record<string, string> = {
  raw: "raw",
  qcow2: "qcow2",
  vmdk: "vmdk",
  vhd: "vpc",
  vhdx: "vhdx",
  vdi: "vdi",
  ploop: "parallels",
  luks: "luks",
};

/** qemu's LUKS key-derivation timing can read 0 ms of CPU on tick-accounted kernels; the product retries it, and so do the tests. */
const PBKDF_TIMING = /Unable to get accurate CPU usage/;
const luksArgs = (path: string, secretFile: string, size: string, iterTime: number, options = "") => [
  "create",
  "-q",
  "-f",
  "luks",
  "--object",
  `secret,id=s0,file=${secretFile}`,
  "-o",
  `key-secret=s0,iter-time=${iterTime}${options && `,${options}`}`,
  path,
  size,
];

/**
 * `qemu-img create -f luks` with the passphrase in `secretFile` (and more `-o` options, e.g.
 * `hash-alg=ripemd160`), tried again (up to 8 times) on qemu's key-derivation timing failure.
 */
export function makeLuks(path: string, secretFile: string, size: string, iterTime = 100, options = ""): string {
  for (let attempt = 1; ; attempt++) {
    const result = spawnSync("qemu-img", luksArgs(path, secretFile, size, iterTime, options), { encoding: "utf8" });
    if (result.status === 0) return path;
    if (attempt >= 8 || !PBKDF_TIMING.test(result.stderr))
      throw new Error(`qemu-img create -f luks failed: ${result.stderr}`);
    rmSync(path, { force: true });
  }
}

/** {@link makeLuks} without blocking (the corpus starts it first and collects it last). */
export async function makeLuksAsync(path: string, secretFile: string, size: string, iterTime = 100): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      await promisify(execFile)("qemu-img", luksArgs(path, secretFile, size, iterTime));
      return path;
    } catch (error) {
      if (attempt >= 8 || !PBKDF_TIMING.test(String((error as { stderr?: string }).stderr))) throw error;
      rmSync(path, { force: true });
    }
  }
}
