import assert from "node:assert/strict";
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import tar from "tar-stream";
import type { Header } from "tar-stream";
import { extractChain } from "../../../src/plugins/xenserver-ovf/extract.ts";
import { bytesOf, expectRejected, openUnder, vhdLike, workDirIn } from "./extract-helpers.ts";
import { chainEntries, listing, removeTempDirs, tarball } from "./helpers.ts";

/** An archive whose first entry is refused, followed by a tar stream that never ends. */
async function* hostileThenEndless(onClose: () => void): AsyncGenerator<Uint8Array> {
  try {
    const hostile = await tarball([{ header: { name: "../0.vhd" }, data: vhdLike(1) }], false);
    yield hostile.subarray(0, 512);
    for (;;) yield Buffer.alloc(512);
  } finally {
    onClose();
  }
}

describe("extractChain sources", () => {
  after(removeTempDirs);

  it("refuses an empty source as holding no member", async () => {
    await expectRejected(bytesOf(Buffer.alloc(0)), "archive-entry", "the archive holds no N.vhd file");
  });

  it("refuses a one-byte source as cut short", async () => {
    await expectRejected(bytesOf(Buffer.from([0x1f])), "truncated", "the archive is cut short");
  });

  it("passes on a missing archive's ENOENT and removes its directory", async () => {
    const { root, work } = await workDirIn();
    await assert.rejects(extractChain(join(root, "missing.tgz"), work), { code: "ENOENT" });
    assert.deepEqual(await listing(work), []);
  });

  it("reads a source whose iterator has no return()", async () => {
    const { work } = await workDirIn();
    const chunks = bytesOf(await tarball(chainEntries([vhdLike(4)])));
    const source: AsyncIterable<Uint8Array> = { [Symbol.asyncIterator]: () => ({ next: () => chunks.next() }) };
    const chain = await extractChain(source, work);
    assert.deepEqual(await listing(chain.dir), ["0.vhd"]);
  });

  it("closes a stream source it refuses before the source ends", async () => {
    let closed = false;
    await expectRejected(
      hostileThenEndless(() => {
        closed = true;
      }),
      "archive-entry",
      '"../0.vhd" climbs out of the archive (..)',
    );
    assert.ok(closed, "the source's return() was called");
  });

  it("closes the member it was writing when the archive is cut short", async () => {
    const { work } = await workDirIn();
    const archive = await tarball(chainEntries([vhdLike(3, 1 << 20)]), false);
    await assert.rejects(extractChain(bytesOf(archive.subarray(0, 300_000), 65536), work), { code: "truncated" });
    assert.deepEqual(await openUnder(work), [], "no descriptor is left open on the removed member");
    assert.deepEqual(await listing(work), []);
  });

  it("stops when aborted while the source stalls after its first two bytes", async () => {
    const { root, work } = await workDirIn();
    const controller = new AbortController();
    const archive = await tarball(chainEntries([vhdLike(1)]), false);
    let stalled!: () => void;
    const waiting = new Promise<void>((resolve) => {
      stalled = resolve;
    });
    async function* stalling(): AsyncGenerator<Uint8Array> {
      yield archive.subarray(0, 2);
      stalled();
      await new Promise<never>(() => {});
    }
    const extracting = extractChain(stalling(), work, { signal: controller.signal });
    await waiting;
    controller.abort();
    await assert.rejects(extracting, { name: "AbortError" });
    assert.deepEqual(await listing(work), []);
    assert.deepEqual(await listing(root), ["work"]);
  });

  it("still reports the rejection when its directory is already gone", async () => {
    const { work } = await workDirIn();
    async function* removingFirst(): AsyncGenerator<Uint8Array> {
      for (const name of await readdir(work)) await rm(join(work, name), { recursive: true });
      yield Buffer.alloc(2048, 0x41);
    }
    await assert.rejects(extractChain(removingFirst(), work), {
      code: "archive-entry",
      message: /^not a valid tar archive: /,
    });
    assert.deepEqual(await listing(work), []);
  });

  it("passes on a source's own failure unchanged, whatever its message reads like", async () => {
    const { work } = await workDirIn();
    const failure = { message: { toString: () => "Invalid tar header" } };
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield Buffer.alloc(512);
      throw failure;
    }
    await assert.rejects(extractChain(failing(), work), (error: unknown) => error === failure);
    assert.deepEqual(await listing(work), []);
  });

  it("refuses an entry that streams more bytes than its header declares", async () => {
    const original = tar.extract;
    tar.extract = (...args: Parameters<typeof tar.extract>) => {
      const reader = original(...args);
      reader.on("entry", (header: Header) => {
        header.size = (header.size ?? 0) - 1;
      });
      return reader;
    };
    try {
      await expectRejected(
        await tarball(chainEntries([vhdLike(2)])),
        "archive-entry",
        '"0.vhd" holds more bytes than declared',
      );
    } finally {
      tar.extract = original;
    }
  });
});
