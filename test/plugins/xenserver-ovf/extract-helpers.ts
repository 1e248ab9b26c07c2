import assert from "node:assert/strict";
import { mkdir, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import { extractChain, type ExtractOptions } from "../../../src/plugins/xenserver-ovf/extract.ts";
import { ChainRejection } from "../../../src/plugins/xenserver-ovf/rejection.ts";
import { listing, tempDir } from "./helpers.ts";

/** Member-sized filler: `length` bytes of `byte`. @example vhdLike(1) */
export const vhdLike = (byte: number, length = 4096): Buffer => Buffer.alloc(length, byte);

/** A fresh `root` holding only an empty job directory `root/work`. @example const { root, work } = await workDirIn(); */
export async function workDirIn(): Promise<{ root: string; work: string }> {
  const root = await tempDir();
  const work = join(root, "work");
  await mkdir(work);
  return { root, work };
}

/** A byte stream of `buffer` in chunks of `chunk` bytes. @example extractChain(bytesOf(tgz), work) */
export async function* bytesOf(buffer: Buffer, chunk = 1000): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buffer.length; i += chunk) yield buffer.subarray(i, i + chunk);
}

/**
 * Extracts `archive` (streamed) and asserts a `ChainRejection` with `code` whose message matches
 * `pattern` (or equals it, for a string), leaving the job directory empty and nothing beside it.
 *
 * @example
 * ```ts
 * await expectRejected(await tarball(entries), "archive-entry", /is a fifo/);
 * ```
 */
export async function expectRejected(
  archive: Buffer | AsyncIterable<Uint8Array>,
  code: string,
  pattern: RegExp | string,
  options: ExtractOptions = {},
): Promise<void> {
  const { root, work } = await workDirIn();
  const source = Buffer.isBuffer(archive) ? bytesOf(archive) : archive;
  await assert.rejects(extractChain(source, work, options), (error: unknown) => {
    assert.ok(error instanceof ChainRejection, String(error));
    assert.equal(error.code, code);
    if (typeof pattern === "string") assert.equal(error.message, pattern);
    else assert.match(error.message, pattern);
    return true;
  });
  assert.deepEqual(await listing(work), [], "the work directory keeps no partial file");
  assert.deepEqual(await listing(root), ["work"], "nothing is written beside the work directory");
}

/**
 * Rewrites bytes of the 512-byte tar header at `offset` and fixes its checksum.
 *
 * @example
 * ```ts
 * patchHeader(tar, 0, (header) => { header[156] = "S".charCodeAt(0); });
 * ```
 */
export function patchHeader(tar: Buffer, offset: number, edit: (header: Buffer) => void): Buffer {
  const out = Buffer.from(tar);
  const header = out.subarray(offset, offset + 512);
  edit(header);
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  return out;
}

/** Targets of this process's open descriptors that lie under `dir` (Linux /proc). @example await openUnder(work) */
export async function openUnder(dir: string): Promise<string[]> {
  const targets = await Promise.all(
    (await readdir("/proc/self/fd")).map((fd) => readlink(join("/proc/self/fd", fd)).catch(() => "")),
  );
  return targets.filter((target) => target.startsWith(`${dir}/`));
}
