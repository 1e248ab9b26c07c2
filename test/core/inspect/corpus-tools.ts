/**
 * The tools the inspector's corpus is built with: qemu-img run directly, byte patches, and the
 * hand-made images qemu reads as raw (GPT, MBR, ISO, UDF) or edits qemu cannot make (VHD
 * footers, VMDK descriptors and footers, VHDX headers and metadata).
 */
import { execFileSync } from "node:child_process";
import {
  appendFileSync,
  closeSync,
  copyFileSync,
  ftruncateSync,
  openSync,
  readSync,
  statSync,
  writeSync,
} from "node:fs";
import { crc32, crc32c } from "../../../src/core/inspect/crc.ts";

const MiB = 1024 * 1024;

/** Runs qemu-img synchronously; tests may, diskpipe's own code only through its adapter. */
export function qemuImg(...args: string[]): string {
  return execFileSync("qemu-img", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** `qemu-img info --output=json -f driver` parsed. */
export function qemuInfo(
  path: string,
  driver: string,
): { "virtual-size": number; format: string; [key: string]: unknown } {
  return JSON.parse(qemuImg("info", "--output=json", "-f", driver, path));
}

/** Writes bytes into a file at an offset (the file keeps its other bytes). */
export function patch(path: string, offset: number, bytes: Uint8Array | number[]): void {
  const fd = openSync(path, "r+");
  try {
    writeSync(fd, Uint8Array.from(bytes), 0, bytes.length, offset);
  } finally {
    closeSync(fd);
  }
}

/** Reads `length` bytes at `offset`. */
export function peek(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, "r");
  try {
    const buffer = Buffer.alloc(length);
    const n = readSync(fd, buffer, 0, length, offset);
    return buffer.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

export function u32be(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b;
}

export function u64be(value: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(value);
  return b;
}

export function u64le(value: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(value);
  return b;
}

/** A sparse file with a little recognisable data near the start. */
export function makeSparse(path: string, size: number, data = true): string {
  const fd = openSync(path, "w");
  try {
    ftruncateSync(fd, size);
    if (data) {
      const block = Buffer.alloc(Math.min(256 * 1024, size));
      for (let i = 0; i < block.length; i++) block[i] = (i * 131 + 7) & 0xff;
      writeSync(fd, block, 0, block.length, Math.min(MiB, size - block.length));
    }
  } finally {
    closeSync(fd);
  }
  return path;
}

export function copy(from: string, to: string): string {
  copyFileSync(from, to);
  return to;
}

// --- VHD -------------------------------------------------------------------------------

function vhdChecksum(footer: Buffer, checksumAt: number): number {
  let sum = 0;
  for (let i = 0; i < footer.length; i++) if (i < checksumAt || i >= checksumAt + 4) sum += footer[i]!;
  return ~sum >>> 0;
}

/** Edits every VHD footer copy (offset 0 and the end) and fixes its checksum. */
export function editVhdFooter(path: string, edit: (footer: Buffer) => void): void {
  const size = statSync(path).size;
  const offsets = [size - 512, ...(peek(path, 0, 8).toString("latin1") === "conectix" ? [0] : [])];
  for (const offset of offsets) {
    const footer = peek(path, offset, 512);
    edit(footer);
    footer.writeUInt32BE(vhdChecksum(footer, 64), 64);
    patch(path, offset, footer);
  }
}

// --- VMDK ------------------------------------------------------------------------------

/** Replaces the descriptor embedded at sector 1 of a sparse VMDK (padding with NULs). */
export function editVmdkDescriptor(path: string, edit: (text: string) => string): void {
  const size = Number(peek(path, 36, 8).readBigUInt64LE()) * 512;
  const old = peek(path, 512, size);
  const text = edit(old.subarray(0, old.indexOf(0)).toString("latin1"));
  const bytes = Buffer.alloc(size);
  bytes.write(text, "latin1");
  patch(path, 512, bytes);
}

/** Moves a streamOptimized VMDK's grain directory pointer to a footer, as VMware's streams do. */
export function addVmdkFooter(path: string): void {
  const header = peek(path, 0, 512);
  const marker = Buffer.alloc(512);
  marker.writeBigUInt64LE(1n, 0);
  marker.writeUInt32LE(3, 12);
  appendFileSync(path, Buffer.concat([marker, header, Buffer.alloc(512)]));
  patch(path, 56, u64le(0xffffffffffffffffn));
}

// --- VHDX ------------------------------------------------------------------------------

const METADATA_REGION = Buffer.from("06a27c8b90479a4bb8fe575f050f886e", "hex");
export const FILE_PARAMETERS = Buffer.from("3767a1ca36fa434db3b633f0aa44e76b", "hex");
export const LOGICAL_SECTOR = Buffer.from("1dbf41816fa90947ba47f233a8faab5f", "hex");

/** File offset of a VHDX metadata item's value. */
export function vhdxItem(path: string, item: Buffer): number {
  const table = peek(path, 192 * 1024, 64 * 1024);
  for (let i = 0; i < table.readUInt32LE(8); i++) {
    const at = 16 + i * 32;
    if (!table.subarray(at, at + 16).equals(METADATA_REGION)) continue;
    const region = Number(table.readBigUInt64LE(at + 16));
    const meta = peek(path, region, 64 * 1024);
    for (let j = 0; j < meta.readUInt16LE(10); j++) {
      const e = 32 + j * 32;
      if (meta.subarray(e, e + 16).equals(item)) return region + meta.readUInt32LE(e + 16);
    }
  }
  throw new Error(`no such VHDX metadata item in ${path}`);
}

/** Edits both VHDX headers (at 64 and 128 KiB) and fixes their CRC-32C. */
export function editVhdxHeaders(path: string, edit: (header: Buffer) => void): void {
  for (const offset of [64 * 1024, 128 * 1024]) {
    const header = peek(path, offset, 4096);
    edit(header);
    header.writeUInt32LE(0, 4);
    header.writeUInt32LE(crc32c(header), 4);
    patch(path, offset, header);
  }
}

// --- GPT / MBR / ISO -------------------------------------------------------------------

const LINUX_FS = Buffer.from("af3dc60f838472478e793d69d8477de4", "hex");

/**
 * A raw disk with a protective MBR and a GPT holding one partition; `lastLba` moves the
 * partition's end, `entryCount` declares a longer entry array (CRCs stay valid either way).
 */
export function makeGpt(path: string, size: number, lastLba?: bigint, entryCount = 128): string {
  makeSparse(path, size);
  const sectors = BigInt(size / 512);
  const mbr = Buffer.alloc(512);
  mbr.writeUInt8(0xee, 446 + 4);
  mbr.writeUInt32LE(1, 446 + 8);
  mbr.writeUInt32LE(Math.min(Number(sectors) - 1, 0xffffffff), 446 + 12);
  mbr.writeUInt16BE(0x55aa, 510);
  const entries = Buffer.alloc(entryCount * 128);
  LINUX_FS.copy(entries, 0);
  entries.fill(0x11, 16, 32);
  entries.writeBigUInt64LE(2048n, 32);
  entries.writeBigUInt64LE(lastLba ?? sectors - 34n, 40);
  entries.write("root", 56, "utf16le");
  const header = Buffer.alloc(512);
  header.write("EFI PART", 0, "latin1");
  header.writeUInt32LE(0x00010000, 8);
  header.writeUInt32LE(92, 12);
  header.writeBigUInt64LE(1n, 24);
  header.writeBigUInt64LE(sectors - 1n, 32);
  header.writeBigUInt64LE(34n, 40);
  header.writeBigUInt64LE(sectors - 34n, 48);
  header.fill(0x22, 56, 72);
  header.writeBigUInt64LE(2n, 72);
  header.writeUInt32LE(entryCount, 80);
  header.writeUInt32LE(128, 84);
  header.writeUInt32LE(crc32(entries), 88);
  header.writeUInt32LE(crc32(header.subarray(0, 92)), 16);
  patch(path, 0, mbr);
  patch(path, 512, header);
  patch(path, 1024, entries.subarray(0, Math.max(0, Math.min(entries.length, size - 1024))));
  return path;
}

/** An MBR sector holding one bootable partition. */
export function mbrSector(type: number, start: number, sectors: number): Buffer {
  const mbr = Buffer.alloc(512);
  mbr.writeUInt8(0x80, 446);
  mbr.writeUInt8(type, 446 + 4);
  mbr.writeUInt32LE(start, 446 + 8);
  mbr.writeUInt32LE(sectors, 446 + 12);
  mbr.writeUInt16BE(0x55aa, 510);
  return mbr;
}

/** A raw disk with an MBR and one Linux partition of `sectors` sectors from sector 2048. */
export function makeMbr(path: string, size: number, sectors = size / 512 - 2048): string {
  makeSparse(path, size);
  patch(path, 0, mbrSector(0x83, 2048, sectors));
  return path;
}

export function descriptor(type: number, id: string): Buffer {
  const d = Buffer.alloc(2048);
  d.writeUInt8(type, 0);
  d.write(id, 1, "latin1");
  d.writeUInt8(1, 6);
  return d;
}

/** A minimal ISO 9660 image: primary volume descriptor and terminator after the system area. */
export function makeIso(path: string, blocks = 512): string {
  makeSparse(path, blocks * 2048);
  const pvd = descriptor(1, "CD001");
  pvd.write("DISKPIPE_TEST", 40, "latin1");
  pvd.writeUInt32LE(blocks, 80);
  pvd.writeUInt32BE(blocks, 84);
  pvd.writeUInt16LE(2048, 128);
  pvd.writeUInt16BE(2048, 130);
  patch(path, 0x8000, pvd);
  patch(path, 0x8800, descriptor(255, "CD001"));
  return path;
}

/** A UDF volume recognition sequence: BEA01, NSR02|NSR03, TEA01 (or the NSR alone at 0x8001). */
export function makeUdf(path: string, nsr: "NSR02" | "NSR03", bare = false): string {
  makeSparse(path, MiB);
  const ids = bare ? [nsr] : ["BEA01", nsr, "TEA01"];
  ids.forEach((id, i) => patch(path, 0x8000 + i * 2048, descriptor(0, id)));
  return path;
}

// --- the corpus ------------------------------------------------------------------------
