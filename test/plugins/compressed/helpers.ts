import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync, type Dirent } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { ImageReader } from "../../../src/plugin-api.ts";
import { detectKind } from "../../../src/plugins/compressed/detect.ts";
import { requirement } from "../../helpers/requirement.ts";

/** The compression kinds and the command that makes each (the real Debian tools). */
export const COMPRESSORS = {
  gz: ["gzip", "-c", "-n"],
  xz: ["xz", "-c", "-T1"],
  zst: ["zstd", "-c", "-q"],
  bz2: ["bzip2", "-c"],
} as const;

/** A skip reason when a tool the tests use is missing (a failure under CI). */
export const missingTools = requirement(
  ["gzip", "xz", "zstd", "bzip2", "tar", "qemu-img"]
    .filter((tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0)
    .join(", ") || false,
);

/** Compresses `path` with the real tool of `kind` into `out` (default: path.kind). @example compress("a.raw", "xz") */
export function compress(path: string, kind: keyof typeof COMPRESSORS, out = `${path}.${kind}`): string {
  const [tool, ...args] = COMPRESSORS[kind];
  writeFileSync(out, execFileSync(tool, [...args, path], { maxBuffer: 1 << 30 }));
  return out;
}

/** A tar of `path` alone (GNU tar, `--sparse` when asked), stored under its base name. @example tarOf("disk.raw", "disk.tar") */
export function tarOf(path: string, out: string, options: { sparse?: boolean; format?: string } = {}): string {
  const flags = [...(options.sparse ? ["--sparse"] : []), ...(options.format ? [`--format=${options.format}`] : [])];
  execFileSync("tar", ["-c", ...flags, "-f", out, "-C", dirname(path), basename(path)]);
  return out;
}

/** Cuts a file to `length` bytes (a truncated download). */
export function cut(path: string, length: number, out: string): string {
  writeFileSync(out, readFileSync(path).subarray(0, length));
  return out;
}

/** Flips bytes in the middle of a file (a corrupt stream), leaving its head intact. */
export function corrupt(path: string, out: string): string {
  const bytes = Buffer.from(readFileSync(path));
  for (let i = Math.floor(bytes.length / 2); i < Math.floor(bytes.length / 2) + 64 && i < bytes.length - 16; i++)
    bytes[i] ^= 0x55;
  writeFileSync(out, bytes);
  return out;
}

/** Whether process `pid` still exists (a zombie counts as gone). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** Children of `pid` (from /proc), with their command names. */
export function childrenOf(pid: number): Array<{ pid: number; name: string }> {
  const out: Array<{ pid: number; name: string }> = [];
  for (const entry of execFileSync("ls", ["/proc"], { encoding: "utf8" }).split("\n")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(join("/proc", entry, "stat"), "utf8");
      const match = /^\d+ \((.*)\) \S (\d+)/.exec(stat);
      if (match && Number(match[2]) === pid) out.push({ pid: Number(entry), name: match[1] });
    } catch {
      // gone
    }
  }
  return out;
}

/** Everything under a pipeline's work directory but its empty folders: what a job left behind. */
export function leftovers(work: string): string[] {
  const found: string[] = [];
  const walk = (path: string) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(path, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) {
        const before = found.length;
        walk(full);
        if (found.length === before && entry.name !== "diskpipe" && path !== work) found.push(`${full}/`);
      } else {
        found.push(full);
      }
    }
  };
  walk(work);
  return found;
}

/**
 * One hand-made 512-byte GNU tar header (oldgnu magic, checksum filled in): `realSize` and the
 * sparse `runs` make a sparse member (type S); a size over 8 GiB is written in base-256.
 * @example tarHeader({ name: "disk.raw", size: 512 })
 */
export function tarHeader(fields: {
  name: string;
  size: number;
  type?: string;
  realSize?: number;
  runs?: Array<[number, number]>;
}): Buffer {
  const block = Buffer.alloc(512);
  const put = (at: number, length: number, value: number) => {
    if (value < 8 ** (length - 1)) block.write(`${value.toString(8).padStart(length - 1, "0")}\0`, at, "latin1");
    else (block.writeUInt8(0x80, at), block.writeBigUInt64BE(BigInt(value), at + length - 8));
  };
  block.write(fields.name, 0, "utf8");
  block.write("0000644\0", 100, "latin1");
  put(108, 8, 0);
  put(116, 8, 0);
  put(124, 12, fields.size);
  put(136, 12, 0);
  block.write(fields.type ?? (fields.realSize === undefined ? "0" : "S"), 156, "latin1");
  block.write("ustar  \0", 257, "latin1");
  for (const [i, [offset, length]] of (fields.runs ?? []).entries()) {
    put(386 + i * 24, 12, offset);
    put(398 + i * 24, 12, length);
  }
  if (fields.realSize !== undefined) put(483, 12, fields.realSize);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  return block;
}

/** An in-memory image that notes the offset of every read in `reads`. */
export function memory(bytes: Uint8Array, reads: number[] = []): ImageReader {
  return {
    size: async () => bytes.length,
    read: async (offset, length) => {
      reads.push(offset);
      return bytes.subarray(offset, offset + length);
    },
    close: async () => undefined,
  };
}

/** The kind detected in `bytes`. */
export const kindOf = (bytes: Uint8Array) => detectKind(memory(bytes));
