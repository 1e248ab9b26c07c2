import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { after, describe, it } from "node:test";
import { DiskWriter, type DiskWriterOptions } from "../../../src/plugins/ova/disk-writer.ts";
import { tempDir } from "../../helpers/images.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const CORRUPT = { code: "archive-entry", message: "a gzip-compressed disk file is corrupt" };
const CUT = { code: "truncated", message: "a gzip-compressed disk file is cut short" };
const TRAILING = {
  code: "archive-entry",
  message: "a gzip-compressed disk file has data after the end of its gzip stream",
};

/** Bytes that gzip cannot shrink much: `length` bytes of a fixed pseudo-random pattern. */
function noise(length: number): Buffer {
  const bytes = Buffer.alloc(length);
  let x = 0x12345678;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

describe("DiskWriter", () => {
  const { dir, cleanup } = tempDir("diskpipe-ova-writer-");
  let count = 0;
  after(cleanup);
  const create = (options: Partial<DiskWriterOptions> = {}) =>
    DiskWriter.create(join(dir, `d${++count}`), { gzip: false, limit: 16 * MiB, ...options });

  it("writes plain chunks in order, without an onStored", async () => {
    const writer = await create();
    await writer.write(Buffer.from("abc"));
    await writer.write(Buffer.from("def"));
    await writer.finish();
    assert.equal(readFileSync(writer.path, "utf8"), "abcdef");
  });

  it("accepts exactly `limit` bytes and refuses one more, in one write or several", async () => {
    const exact = await create({ limit: 10 });
    await exact.write(Buffer.alloc(4, 1));
    await exact.write(Buffer.alloc(6, 1));
    await exact.finish();
    assert.equal(statSync(exact.path).size, 10);
    const message = "a disk file grows past 10 bytes, more than its capacity allows";
    const one = await create({ limit: 10 });
    await assert.rejects(one.write(Buffer.alloc(11, 1)), { code: "disk-too-large", message });
    await one.close();
    const two = await create({ limit: 10 });
    await two.write(Buffer.alloc(6, 1));
    await assert.rejects(two.write(Buffer.alloc(5, 1)), { code: "disk-too-large", message });
    await two.close();
  });

  it("leaves all-zero blocks as holes and reports only the data it stored", async () => {
    const stored: number[] = [];
    const writer = await create({ onStored: (bytes) => stored.push(bytes) });
    await writer.write(Buffer.alloc(4 * MiB));
    await writer.write(Buffer.alloc(64 * KiB, 7));
    await writer.write(Buffer.alloc(4 * MiB));
    await writer.finish();
    assert.deepEqual(stored, [0, 64 * KiB, 0]);
    const { size, blocks } = statSync(writer.path);
    assert.equal(size, 8 * MiB + 64 * KiB);
    assert.ok(blocks * 512 < 1 * MiB, `${blocks} blocks of 512 bytes are allocated`);
  });

  it("gunzips a gzip member across many writes, bounded and counted", async () => {
    const data = Buffer.concat([noise(300 * KiB), Buffer.alloc(2 * MiB)]);
    let stored = 0;
    const writer = await create({ gzip: true, limit: data.length, onStored: (bytes) => (stored += bytes) });
    const gz = gzipSync(data);
    for (let at = 0; at < gz.length; at += 1000) await writer.write(gz.subarray(at, at + 1000));
    await writer.finish();
    assert.ok(readFileSync(writer.path).equals(data));
    assert.ok(stored >= 300 * KiB && stored <= 400 * KiB, `${stored} bytes stored`);
  });

  it("refuses a gzip member that expands past `limit` while it is written", async () => {
    const writer = await create({ gzip: true, limit: MiB });
    await assert.rejects(
      (async () => {
        await writer.write(gzipSync(Buffer.alloc(4 * MiB, 0x41)));
        await writer.finish();
      })(),
      { code: "disk-too-large", message: `a disk file grows past ${MiB} bytes, more than its capacity allows` },
    );
    await writer.close();
  });

  it("refuses a corrupt gzip member: from the write itself when it waits for the stream", async () => {
    const corrupt = Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), Buffer.alloc(64 * KiB, 0xff)]);
    const big = await create({ gzip: true });
    await assert.rejects(big.write(corrupt), CORRUPT);
    await big.close();
    const small = await create({ gzip: true });
    await assert.rejects(
      (async () => {
        await small.write(corrupt.subarray(0, 100));
        await small.finish();
      })(),
      CORRUPT,
    );
    await small.close();
  });

  it("refuses a gzip member that is cut short", async () => {
    const gz = gzipSync(noise(100 * KiB));
    const writer = await create({ gzip: true });
    await writer.write(gz.subarray(0, gz.length - 10));
    await assert.rejects(writer.finish(), CUT);
    await writer.close();
  });

  it("refuses data after the end of the gzip stream, at finish", async () => {
    const writer = await create({ gzip: true });
    await writer.write(Buffer.concat([gzipSync(Buffer.from("hello")), Buffer.alloc(5)]));
    await assert.rejects(writer.finish(), TRAILING);
    await writer.close();
  });

  it("refuses a write after the gzip stream ended", async () => {
    const writer = await create({ gzip: true });
    await writer.write(Buffer.concat([gzipSync(Buffer.from("hello")), Buffer.alloc(5)]));
    // Until gunzip has seen the end of its stream (a few turns of the event loop), an empty write is taken.
    for (let turn = 0; turn < 10_000; turn++) {
      const ended = await writer.write(new Uint8Array(0)).then(
        () => false,
        () => true,
      );
      if (ended) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    await assert.rejects(writer.write(Buffer.from("more")), TRAILING);
    await writer.close();
  });

  it("lets an onStored failure through unchanged, whatever it is", async () => {
    for (const thrown of [new Error("EIO"), Object.assign(new Error("x"), { code: 5 }), undefined]) {
      const writer = await create({
        gzip: true,
        onStored: () => {
          throw thrown;
        },
      });
      const outcome = await (async () => {
        await writer.write(gzipSync(randomBytes(100 * KiB)));
        await writer.finish();
      })().then(
        () => "resolved",
        (error: unknown) => error,
      );
      assert.equal(outcome, thrown);
      await writer.close();
    }
  });

  it("closes once: later writes fail, a second close does nothing", async () => {
    for (const gzip of [false, true]) {
      const writer = await create({ gzip });
      await writer.write(gzip ? gzipSync(Buffer.from("ab")).subarray(0, 5) : Buffer.from("ab"));
      await writer.close();
      await writer.close();
      await assert.rejects(writer.write(Buffer.from("cd")));
    }
  });
});
