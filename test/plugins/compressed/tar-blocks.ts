// Hand-built tar blocks with any field set (type flags, base-256 numbers, the ustar prefix, GNU
// sparse maps and their extension blocks), and a sink that records what extractOne sent it.
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { ChunkReader } from "../../../src/plugins/compressed/chunks.ts";
import { Refusal } from "../../../src/plugins/compressed/refusal.ts";
import { extractOne, type MemberSink } from "../../../src/plugins/compressed/tar.ts";

export const BLOCK = 512;
export const KiB = 1024;
export const MiB = 1024 * 1024;
/** The end-of-archive marker: two zero blocks. */
export const END = Buffer.alloc(2 * BLOCK);

/**
 * A numeric field: a number is written in octal (zero padded, NUL ended), a bigint in GNU
 * base-256 (0x80, then big-endian), a string or bytes as they are.
 */
export type Field = number | bigint | string | Uint8Array;

/** The fields of one header block; each left out is empty (NUL), but the magic and mode. */
export interface HeaderFields {
  name?: string;
  size?: Field;
  /** The type flag at 156; "" leaves it NUL. Default "0". */
  type?: string;
  /** "posix": "ustar\0" + "00" (the prefix is part of the name); "gnu": old GNU "ustar  \0". */
  magic?: "posix" | "gnu";
  prefix?: string;
  /** GNU sparse: the map in the header (at most 4 runs, at 386), the flag at 482, the real size at 483. */
  runs?: Array<[Field, Field]>;
  extended?: boolean;
  realSize?: Field;
}

function put(block: Buffer, at: number, length: number, value: Field | undefined): void {
  if (value === undefined) return;
  if (typeof value === "number") block.write(`${value.toString(8).padStart(length - 1, "0")}\0`, at, "latin1");
  else if (typeof value === "bigint") {
    block[at] = 0x80;
    for (let i = at + length - 1, rest = value; i > at; i--, rest >>= 8n) block[i] = Number(rest & 0xffn);
  } else if (typeof value === "string") block.write(value, at, length, "latin1");
  else block.set(value.subarray(0, length), at);
}

function putRuns(block: Buffer, at: number, runs: ReadonlyArray<[Field, Field]>): void {
  for (const [i, [offset, length]] of runs.entries()) {
    put(block, at + i * 24, 12, offset);
    put(block, at + i * 24 + 12, 12, length);
  }
}

/**
 * One 512-byte header with its checksum made right.
 *
 * @example
 * ```ts
 * header({ name: "disk.raw", size: 1000n }); // the size in base-256
 * ```
 */
export function header(fields: HeaderFields = {}): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(fields.name ?? "", 0, 100, "utf8");
  block.write("0000644\0", 100, "latin1");
  put(block, 124, 12, fields.size);
  block.write(fields.type ?? "0", 156, "latin1");
  block.write((fields.magic ?? "posix") === "posix" ? "ustar\x0000" : "ustar  \0", 257, "latin1");
  block.write(fields.prefix ?? "", 345, 155, "utf8");
  putRuns(block, 386, fields.runs ?? []);
  if (fields.extended) block[482] = 1;
  put(block, 483, 12, fields.realSize);
  return withChecksum(block);
}

/**
 * The block with its checksum field (148, 8 bytes) computed over it, the field counted as spaces.
 *
 * @example
 * ```ts
 * const block = header({ name: "a.raw" });
 * block[0] = 0x62;
 * withChecksum(block); // right again
 * ```
 */
export function withChecksum(block: Buffer): Buffer {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += block[i];
  block.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  return block;
}

/**
 * A GNU sparse extension block: up to 21 runs, and the flag at 504 that another block follows.
 *
 * @example
 * ```ts
 * sparseBlock([[4096, 512]], false);
 * ```
 */
export function sparseBlock(runs: ReadonlyArray<[Field, Field]>, more: boolean): Buffer {
  const block = Buffer.alloc(BLOCK);
  putRuns(block, 0, runs);
  if (more) block[504] = 1;
  return block;
}

/**
 * Bytes (or latin1 text) zero padded to whole blocks.
 *
 * @example
 * ```ts
 * padded("xy").length; // 512
 * ```
 */
export function padded(data: Uint8Array | string): Buffer {
  const bytes = typeof data === "string" ? Buffer.from(data, "latin1") : Buffer.from(data);
  return Buffer.concat([bytes, Buffer.alloc((BLOCK - (bytes.length % BLOCK)) % BLOCK)]);
}

/**
 * A header whose size is the body's length (unless `fields.size` says otherwise), then the padded body.
 *
 * @example
 * ```ts
 * entry({ name: "a.raw" }, "xy").length; // 1024
 * ```
 */
export function entry(fields: HeaderFields, body: Uint8Array | string = ""): Buffer {
  const length = typeof body === "string" ? Buffer.byteLength(body, "latin1") : body.length;
  return Buffer.concat([header({ size: length, ...fields }), padded(body)]);
}

/**
 * One PAX record, its length counting its own digits and bytes (not characters).
 *
 * @example
 * ```ts
 * record("mtime", "1").toString(); // "11 mtime=1\n"
 * ```
 */
export function record(key: string, value: string): Buffer {
  const rest = Buffer.byteLength(` ${key}=${value}\n`);
  let length = rest + 1;
  while (String(length).length + rest !== length) length = String(length).length + rest;
  return Buffer.from(`${length} ${key}=${value}\n`);
}

/**
 * A PAX extended header ('x') entry holding these records, or these bytes as they are.
 *
 * @example
 * ```ts
 * paxEntry({ path: "disk.raw" });
 * ```
 */
export function paxEntry(records: Record<string, string> | Uint8Array | string): Buffer {
  const data =
    typeof records === "string" || records instanceof Uint8Array
      ? records
      : Buffer.concat(Object.entries(records).map(([key, value]) => record(key, value)));
  return entry({ name: "PaxHeader", type: "x" }, data);
}

/**
 * A GNU long-name ('L') entry: the name and its NUL (or these bytes as they are).
 *
 * @example
 * ```ts
 * longNameEntry("d".repeat(200) + ".raw");
 * ```
 */
export function longNameEntry(name: string | Uint8Array): Buffer {
  const data = typeof name === "string" ? Buffer.from(`${name}\0`) : name;
  return entry({ name: "././@LongLink", type: "L" }, data);
}

/** What the sink received: each run of writes as latin1 text, each hole as its length. */
export type Layout = Array<string | number>;

/**
 * Runs extractOne over the bytes (fed in `chunk`-byte pieces) and returns the member and what
 * the sink received.
 *
 * @example
 * ```ts
 * const { name, size, layout } = await extract(Buffer.concat([entry({ name: "a.raw" }, "xy"), END]));
 * ```
 */
export async function extract(
  archive: Uint8Array,
  chunk = 4096,
): Promise<{ name: string; size: number; layout: Layout }> {
  const layout: Layout = [];
  const sink: MemberSink = {
    write: async (bytes) => {
      const text = Buffer.from(bytes).toString("latin1");
      const last = layout.length - 1;
      if (typeof layout[last] === "string") layout[last] += text;
      else layout.push(text);
    },
    hole: async (length) => void layout.push(length),
  };
  const pieces = Array.from({ length: Math.ceil(archive.length / chunk) }, (_, i) =>
    archive.subarray(i * chunk, (i + 1) * chunk),
  );
  const member = await extractOne(new ChunkReader(Readable.from(pieces)), sink);
  return { ...member, layout };
}

/**
 * The refusal extractOne throws for the bytes, checked for its code and message.
 *
 * @example
 * ```ts
 * await refused(Buffer.alloc(100), "truncated", /cut short/);
 * ```
 */
export async function refused(archive: Uint8Array, code: string, message: RegExp | string): Promise<void> {
  await assert.rejects(extract(archive), (error: unknown) => {
    assert.ok(error instanceof Refusal, String(error));
    assert.equal(error.code, code);
    if (typeof message === "string") assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}
