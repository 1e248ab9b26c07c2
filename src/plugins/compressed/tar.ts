import { isZero, quote } from "../../plugin-api.ts";
import type { ChunkReader } from "./chunks.ts";
import { isTarHeader } from "./detect.ts";
import { Refusal } from "./refusal.ts";

const BLOCK = 512;
/** Largest PAX extended header or GNU long name accepted: real ones are a few hundred bytes. */
const MAX_META_BYTES = 64 * 1024;
/** Largest GNU sparse map accepted, in extension blocks (21 entries each). */
const MAX_SPARSE_BLOCKS = 4096;
/** Bytes of headers, PAX records and long names in all: real archives have a few blocks; more only spends CPU. */
const MAX_HEADER_BYTES = 1 << 20;
/** Bytes (all zero) allowed after the end-of-archive blocks: tar pads to its record size (10 KiB). */
const MAX_TRAILING_BYTES = 1 << 20;
/** PAX keys that describe only the member's metadata: read and ignored. */
const HARMLESS_PAX =
  /^((mtime|atime|ctime|uid|gid|uname|gname|comment|charset|hdrcharset)$|SCHILY\.(?!realsize)|LIBARCHIVE\.)/;

/**
 * Where the content of the one member goes: bytes in order, and runs of zeroes a sparse
 * member leaves out.
 *
 * @example
 * ```ts
 * const sink: MemberSink = { write: async (chunk) => console.log(chunk.length), hole: async (length) => console.log("hole", length) };
 * ```
 */
export interface MemberSink {
  write(chunk: Uint8Array): Promise<void>;
  hole(length: number): Promise<void>;
}

/**
 * Reads a tar archive that must hold exactly one regular file (plain, or GNU sparse) and sends
 * that file's content to `sink`; returns the member's name and size. Refused (`archive-entry`):
 * links, devices, FIFOs, other directories than `.`, a second member, absolute or `..` names,
 * GNU long link names, global or sparse PAX headers, a PAX header or long name over 64 KiB, a
 * bad header checksum, more than 1 MiB of headers in all (entries that write nothing would
 * otherwise cost CPU under no size bound), data after the end of the archive; a cut-short
 * archive is `truncated`.
 *
 * @example
 * ```ts
 * import { createReadStream } from "node:fs";
 * import { ChunkReader } from "./chunks.ts";
 * declare const sink: MemberSink;
 * const member = await extractOne(new ChunkReader(createReadStream("disk.tar")), sink); // { name: "disk.raw", size: 10737418240 }
 * ```
 */
export async function extractOne(input: ChunkReader, sink: MemberSink): Promise<{ name: string; size: number }> {
  let member: { name: string; size: number } | undefined;
  let pax: Map<string, string> | undefined;
  let longName: string | undefined;
  let headerBytes = 0;
  for (;;) {
    const header = await input.readExact(BLOCK);
    if (header.length < BLOCK) throw new Refusal("truncated", "the tar archive is cut short");
    headerBytes += BLOCK;
    if (headerBytes > MAX_HEADER_BYTES) throw reject(`more than ${MAX_HEADER_BYTES} bytes of tar headers`);
    if (isZero(header, 0, header.length)) break;
    if (!isTarHeader(header)) throw reject("a tar header is not valid (bad magic or checksum)");
    const type = String.fromCharCode(header[156] || 0x30);
    const name = longName ?? pax?.get("path") ?? headerName(header);
    const size = type === "x" || type === "L" ? number(header, 124, 12) : sizeOf(header, pax);
    if (type === "x" || type === "L") {
      if (size > MAX_META_BYTES)
        throw reject(
          `a ${type === "x" ? "PAX" : "long-name"} header of ${size} bytes is over the ${MAX_META_BYTES}-byte bound`,
        );
      headerBytes += size;
      if (headerBytes > MAX_HEADER_BYTES) throw reject(`more than ${MAX_HEADER_BYTES} bytes of tar headers`);
      const data = await readPadded(input, size);
      if (type === "x") pax = parsePax(data);
      else longName = Buffer.from(data).toString("utf8").replace(/\0.*/s, "");
      continue;
    }
    checkName(name);
    longName = undefined;
    if (type === "5") {
      if (name !== "." && name !== "./") throw reject(`${show(name)} is a directory`);
      pax = undefined;
      continue;
    }
    if (type !== "0" && type !== "7" && type !== "S") throw reject(`${show(name)} is ${describe(type)}`);
    if (member) throw reject(`the archive holds more than one member (${show(member.name)}, ${show(name)})`);
    const realSize = type === "S" ? await copySparse(input, header, size, sink) : await copyPlain(input, size, sink);
    member = { name, size: realSize };
    pax = undefined;
  }
  if (!member) throw reject("the archive holds no file");
  await checkTrailing(input);
  return member;
}

async function copyPlain(input: ChunkReader, size: number, sink: MemberSink): Promise<number> {
  await copy(input, size, sink);
  await skip(input, padding(size));
  return size;
}

/** A GNU (oldgnu) sparse member: the map in the header and its extension blocks, then the stored runs. */
async function copySparse(input: ChunkReader, header: Uint8Array, stored: number, sink: MemberSink): Promise<number> {
  const realSize = number(header, 483, 12);
  const map = sparseEntries(header, 386, 4);
  let extended = header[482] !== 0;
  for (let blocks = 0; extended; blocks++) {
    if (blocks >= MAX_SPARSE_BLOCKS) throw reject(`a sparse map of more than ${MAX_SPARSE_BLOCKS} blocks`);
    const block = await input.readExact(BLOCK);
    if (block.length < BLOCK) throw new Refusal("truncated", "the tar archive is cut short");
    map.push(...sparseEntries(block, 0, 21));
    extended = block[504] !== 0;
  }
  let position = 0;
  let total = 0;
  for (const { offset, length } of map) {
    if (offset < position || offset + length > realSize)
      throw reject("a sparse map with overlapping or out-of-range runs");
    if (offset > position) await sink.hole(offset - position);
    total += length;
    if (total > stored) throw reject("a sparse map that names more data than the member stores");
    await copy(input, length, sink);
    position = offset + length;
  }
  if (total !== stored) throw reject("a sparse map that names less data than the member stores");
  if (realSize > position) await sink.hole(realSize - position);
  await skip(input, padding(stored));
  return realSize;
}

function sparseEntries(block: Uint8Array, at: number, count: number): Array<{ offset: number; length: number }> {
  const entries: Array<{ offset: number; length: number }> = [];
  for (let i = 0; i < count; i++) {
    const base = at + i * 24;
    if (block[base] === 0 && block[base + 12] === 0) break;
    entries.push({ offset: number(block, base, 12), length: number(block, base + 12, 12) });
  }
  return entries;
}

async function copy(input: ChunkReader, length: number, sink: MemberSink): Promise<void> {
  let left = length;
  while (left > 0) {
    const chunk = await input.read(Math.min(left, 1 << 20));
    if (!chunk) throw new Refusal("truncated", "the tar archive is cut short");
    left -= chunk.length;
    await sink.write(chunk);
  }
}

async function skip(input: ChunkReader, length: number): Promise<void> {
  const bytes = await input.readExact(length);
  if (bytes.length < length) throw new Refusal("truncated", "the tar archive is cut short");
}

async function readPadded(input: ChunkReader, size: number): Promise<Uint8Array> {
  const data = await input.readExact(size);
  if (data.length < size) throw new Refusal("truncated", "the tar archive is cut short");
  await skip(input, padding(size));
  return Uint8Array.from(data);
}

/** After the end-of-archive block: zeroes only (tar's record padding), and not many. */
async function checkTrailing(input: ChunkReader): Promise<void> {
  let seen = 0;
  for (let chunk = await input.read(65536); chunk; chunk = await input.read(65536)) {
    seen += chunk.length;
    if (seen > MAX_TRAILING_BYTES || !isZero(chunk, 0, chunk.length))
      throw reject("data follows the end of the archive");
  }
}

function parsePax(data: Uint8Array): Map<string, string> {
  // Each record's length counts bytes (a path may hold multi-byte UTF-8): split on bytes, decode each record.
  const bytes = Buffer.from(data);
  const records = new Map<string, string>();
  let at = 0;
  while (at < bytes.length) {
    const space = bytes.indexOf(0x20, at);
    const digits = bytes.toString("latin1", at, space); // "" when there is no space
    const length = Number(digits);
    if (!/^[0-9]+$/.test(digits) || bytes[at + length - 1] !== 0x0a) throw reject("a PAX header is malformed");
    // Said outright, though the lines around refuse the same records: no space (no digits), a length that ends
    // the record in its digits or space or past the data (no newline there), or of 0 (no "=" in it).
    // Stryker disable next-line all: every record this line refuses, the checks before and after it refuse too
    if (space < 0 || length <= space - at + 1 || at + length > bytes.length) throw reject("a PAX header is malformed");
    const record = bytes.toString("utf8", space + 1, at + length - 1);
    const equals = record.indexOf("=");
    if (equals < 0) throw reject("a PAX header is malformed");
    const key = record.slice(0, equals);
    if (key !== "path" && key !== "size" && !HARMLESS_PAX.test(key)) throw reject(`a PAX header sets ${show(key)}`);
    records.set(key, record.slice(equals + 1));
    at += length;
  }
  return records;
}

function sizeOf(header: Uint8Array, pax: Map<string, string> | undefined): number {
  const fromPax = pax?.get("size");
  if (fromPax === undefined) return number(header, 124, 12);
  if (!/^[0-9]{1,16}$/.test(fromPax) || !Number.isSafeInteger(Number(fromPax)))
    throw reject("a PAX size is not a number");
  return Number(fromPax);
}

/** A numeric field: octal digits (NUL or space ended) or GNU's base-256 (high bit set). */
function number(block: Uint8Array, at: number, length: number): number {
  if (block[at] & 0x80) {
    if (block[at] !== 0x80) throw reject("a negative or oversized number in a tar header");
    let value = 0;
    for (let i = at + 1; i < at + length; i++) value = value * 256 + block[i];
    if (!Number.isSafeInteger(value)) throw reject("an oversized number in a tar header");
    return value;
  }
  // Leading spaces are padding (old tars right-align numbers); a NUL or space ends the digits.
  const text = Buffer.from(block.subarray(at, at + length))
    .toString("latin1")
    .replace(/^ +/, "")
    .replace(/[\0 ].*/s, "");
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw reject("a number in a tar header is not octal");
  return parseInt(text, 8);
}

function headerName(header: Uint8Array): string {
  const field = (at: number, length: number) =>
    Buffer.from(header.subarray(at, at + length))
      .toString("utf8")
      .replace(/\0.*/s, "");
  const prefix = field(345, 155);
  const name = field(0, 100);
  // ustar splits long names into a prefix; old GNU headers use those bytes for times.
  return header[263] === 0x30 && prefix !== "" ? `${prefix}/${name}` : name;
}

function checkName(name: string): void {
  if (name === "") throw reject("a member has no name");
  if (name.startsWith("/")) throw reject(`${show(name)} is an absolute path`);
  if (name.split("/").includes("..")) throw reject(`${show(name)} climbs out of the archive (..)`);
}

function describe(type: string): string {
  const kinds: Record<string, string> = {
    "1": "a hard link",
    "2": "a symbolic link",
    "3": "a character device",
    "4": "a block device",
    "6": "a FIFO",
    g: "a global PAX header",
    K: "a GNU long link name",
  };
  return kinds[type] ?? `an unsupported entry (type ${quote(type)})`;
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

function reject(message: string): Refusal {
  return new Refusal("archive-entry", message);
}

function show(name: string): string {
  return quote(name, 200);
}
