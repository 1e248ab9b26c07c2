import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, openSync, readdirSync, rmSync, writeSync, closeSync, ftruncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = "diskpipe-test-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
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
export const DRIVER: Record<string, string> = { raw: "raw", qcow2: "qcow2", vmdk: "vmdk", vhd: "vpc", vhdx: "vhdx", vdi: "vdi", ploop: "parallels", luks: "luks" };
