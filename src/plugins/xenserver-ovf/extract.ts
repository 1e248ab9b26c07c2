import { createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import tar from "tar-stream";
import type { Header } from "tar-stream";
import { byteLimit, SparseFile } from "../../plugin-api.ts";
import { ChainRejection } from "./rejection.ts";

/** Default bound on the number of archive entries (directories included). */
export const DEFAULT_MAX_ENTRIES = 64;
/** Default bound on the sum of the entries' sizes: 2 TiB. */
export const DEFAULT_MAX_TOTAL_BYTES = 2 ** 41;

/**
 * Options of {@link extractChain}.
 *
 * @example
 * ```ts
 * const options: ExtractOptions = { maxEntries: 16, maxTotalBytes: 2 ** 40, signal: ctx.signal };
 * ```
 */
export interface ExtractOptions {
  /** Most entries accepted (default 64). */
  maxEntries?: number;
  /** Most bytes accepted over all entries, declared and streamed (default 2 TiB). */
  maxTotalBytes?: number;
  signal?: AbortSignal;
}

/**
 * The VHDs of a chain tarball, extracted.
 *
 * @example
 * ```ts
 * import { openChain } from "./chain.ts";
 * const { dir, files } = await extractChain("chain.tgz", ctx.workDir);
 * try { await openChain(files); } finally { await rm(dir, { recursive: true }); }
 * ```
 */
export interface ExtractedChain {
  /** The fresh directory inside the work directory that holds them; remove it when done. */
  dir: string;
  /** Paths of `0.vhd` (the leaf) … `n-1.vhd` (the base), in that order. */
  files: string[];
  /** Sum of the entries' sizes. */
  bytes: number;
}

const MEMBER_NAME = /^(?:\.\/)?(0|[1-9][0-9]{0,5})\.vhd$/;

/**
 * Extracts a XenServer VHD chain tarball (gzipped or plain tar, from a path or a byte stream)
 * into a new directory inside `workDir`. Only regular files named `N.vhd` or `./N.vhd`, with N
 * running from 0 without gaps, are accepted, besides a `.` directory entry; anything else (other
 * names, absolute or `..` paths, links, devices, duplicates, too many entries, too many bytes)
 * throws an `archive-entry` `ChainRejection`, and a cut-short archive a `truncated` one. Files
 * are written under names diskpipe makes, created exclusively and never through a link; on any
 * failure the directory and everything in it are removed.
 *
 * @example
 * ```ts
 * const chain = await extractChain("export.tgz", ctx.workDir, { maxEntries: 16 });
 * console.log(chain.files); // [".../vhd-chain-XXXXXX/0.vhd", ".../1.vhd"]
 * ```
 */
export async function extractChain(
  source: string | AsyncIterable<Uint8Array>,
  workDir: string,
  options: ExtractOptions = {},
): Promise<ExtractedChain> {
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  const maxTotalBytes = options.maxTotalBytes ?? DEFAULT_MAX_TOTAL_BYTES;
  const dir = await mkdtemp(join(workDir, "vhd-chain-"));
  const files = new Map<number, string>();
  let entries = 0;
  let declared = 0;
  let streamed = 0;
  let input: Readable | undefined;
  try {
    const { stream, gzipped } = await openInput(source);
    input = stream;
    const extract = tar.extract();
    // Tar headers, padding and trailing blocks may add to the data, but never without bound.
    const streamLimit = maxTotalBytes + (maxEntries + 1) * 65536 + 1024 * 1024;
    const bounded = byteLimit(streamLimit, (limit) => reject(`the archive expands to more than ${limit} bytes`));
    const stages = gzipped ? [stream, createGunzip(), bounded, extract] : [stream, bounded, extract];
    const feeding = pipeline(stages, { signal: options.signal });
    feeding.catch(() => {});
    for await (const entry of extract) {
      entries++;
      if (entries > maxEntries) throw reject(`more than ${maxEntries} entries`);
      const index = checkEntry(entry.header, maxEntries);
      if (index === undefined) {
        entry.resume();
        continue;
      }
      if (files.has(index)) throw reject(`${show(entry.header.name)} duplicates ${index}.vhd`);
      const size = entry.header.size ?? 0;
      declared += size;
      if (declared > maxTotalBytes) throw reject(`entries declare more than ${maxTotalBytes} bytes`);
      const path = join(dir, `${index}.vhd`);
      files.set(index, path);
      const file = await SparseFile.create(path);
      try {
        let position = 0;
        for await (const chunk of entry as AsyncIterable<Uint8Array>) {
          position += chunk.length;
          // Stryker disable next-line AssignmentOperator: only the bound below reads it, and that bound cannot trip (see there)
          streamed += chunk.length;
          if (position > size) throw reject(`${show(entry.header.name)} holds more bytes than declared`);
          // Stryker disable next-line ConditionalExpression,StringLiteral: a second bound, unreachable while each entry stops at its declared size and the declared sum at maxTotalBytes
          if (streamed > maxTotalBytes) throw reject(`${show(entry.header.name)} holds more bytes than declared`);
          await file.write(position - chunk.length, chunk);
        }
        await file.finish(position);
      } finally {
        await file.close();
      }
    }
    await feeding;
    return { dir, files: contiguous(files), bytes: declared };
  } catch (error) {
    input?.destroy();
    await rm(dir, { recursive: true, force: true });
    throw translate(error);
  }
}

/** Returns the member index of an entry, undefined for an accepted `.` directory, or throws. */
function checkEntry(header: Header, maxEntries: number): number | undefined {
  const name = header.name;
  const shown = show(name);
  if (name.startsWith("/")) throw reject(`${shown} is an absolute path`);
  if (name.split("/").includes("..")) throw reject(`${shown} climbs out of the archive (..)`);
  switch (header.type) {
    case "directory":
      if (name === "." || name === "./") return undefined;
      throw reject(`${shown} is a directory`);
    case "symlink":
    case "link":
      throw reject(
        `${shown} is a ${header.type === "link" ? "hard" : "symbolic"} link to ${show(header.linkname ?? "")}`,
      );
    case "character-device":
    case "block-device":
    case "fifo":
      throw reject(`${shown} is a ${header.type}`);
    case "file":
      break;
    default:
      throw reject(`${shown} has unsupported entry type ${String(header.type)}`);
  }
  const match = MEMBER_NAME.exec(name);
  if (!match) throw reject(`${shown} is not named N.vhd`);
  const index = Number(match[1]);
  if (index >= maxEntries) throw reject(`${shown}: a chain has at most ${maxEntries} members`);
  return index;
}

function contiguous(files: Map<number, string>): string[] {
  if (files.size === 0) throw reject("the archive holds no N.vhd file");
  const ordered: string[] = [];
  for (let index = 0; index < files.size; index++) {
    const path = files.get(index);
    if (!path) throw reject(`${index}.vhd is missing: members must be numbered 0 to ${files.size - 1}`);
    ordered.push(path);
  }
  return ordered;
}

async function openInput(source: string | AsyncIterable<Uint8Array>): Promise<{ stream: Readable; gzipped: boolean }> {
  const raw: AsyncIterable<Uint8Array> = typeof source === "string" ? createReadStream(source) : source;
  const iterator = raw[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let headLength = 0;
  while (headLength < 2) {
    const next = await iterator.next();
    if (next.done) break;
    head.push(next.value);
    headLength += next.value.length;
  }
  const first = Buffer.concat(head);
  async function* replay(): AsyncGenerator<Uint8Array> {
    try {
      // Stryker disable next-line ConditionalExpression,EqualityOperator: a byte-mode Readable drops an empty chunk
      if (first.length > 0) yield first;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    } finally {
      await iterator.return?.();
    }
  }
  // Stryker disable next-line ObjectLiteral,BooleanLiteral: object mode only buffers 16 chunks ahead instead of 16 KiB; the same bytes reach the byte-mode stages
  const stream = Readable.from(replay(), { objectMode: false });
  return { stream, gzipped: first[0] === 0x1f && first[1] === 0x8b };
}

function translate(error: unknown): unknown {
  if (error instanceof ChainRejection) return error;
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code === "Z_BUF_ERROR" || message === "Unexpected end of data")
    return new ChainRejection("truncated", "the archive is cut short");
  if (typeof code === "string" && code.startsWith("Z_"))
    return new ChainRejection("archive-entry", `not a valid gzip stream: ${String(message)}`);
  if (typeof message === "string" && /tar header|Header exceeds|Invalid header/i.test(message)) {
    return new ChainRejection("archive-entry", `not a valid tar archive: ${message}`);
  }
  return error;
}

function reject(message: string): ChainRejection {
  return new ChainRejection("archive-entry", message);
}

function show(name: string): string {
  return JSON.stringify(name.length > 200 ? `${name.slice(0, 200)}…` : name);
}
