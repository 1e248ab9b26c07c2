import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ImageReader } from "../../../src/core/io/reader.ts";
import { guardReader, watchSize } from "../../../src/core/inspect/run.ts";
import { countingReader, memoryReader } from "./readers.ts";

/** 8 KiB whose byte i is i mod 251, so any slice shows where it came from. */
function patterned(): { reader: ImageReader; ranges: [number, number][]; closed: () => number } {
  const bytes = Uint8Array.from({ length: 8192 }, (_, i) => i % 251);
  const counted = countingReader(memoryReader(bytes.length, [{ offset: 0, bytes }]));
  let closes = 0;
  return {
    reader: { ...counted.reader, close: async () => void closes++ },
    ranges: counted.stats.ranges,
    closed: () => closes,
  };
}

const expected = (offset: number, length: number) => Uint8Array.from({ length }, (_, i) => (offset + i) % 251);

describe("guardReader", () => {
  test("reads inside the first 4 KiB share one read of the head, made on first use", async () => {
    const source = patterned();
    const guard = guardReader(source.reader);
    assert.deepEqual(source.ranges, []);
    assert.deepEqual(await guard.reader.read(0, 512), expected(0, 512));
    assert.deepEqual(await guard.reader.read(100, 20), expected(100, 20));
    assert.deepEqual(await guard.reader.read(4095, 1), expected(4095, 1));
    assert.deepEqual(await guard.reader.read(0, 4096), expected(0, 4096));
    assert.deepEqual(source.ranges, [[0, 4096]]);
  });

  test("a read past the head, of nothing, or at a negative offset goes to the reader as asked", async () => {
    const source = patterned();
    const guard = guardReader(source.reader);
    assert.deepEqual(await guard.reader.read(4095, 2), expected(4095, 2));
    assert.deepEqual(await guard.reader.read(4096, 1), expected(4096, 1));
    assert.deepEqual(await guard.reader.read(0, 0), new Uint8Array(0));
    await guard.reader.read(-1, 1);
    assert.deepEqual(source.ranges, [
      [4095, 2],
      [4096, 1],
      [0, 0],
      [-1, 1],
    ]);
  });

  test("each detector gets its own copy of the head", async () => {
    const guard = guardReader(patterned().reader);
    const first = await guard.reader.read(0, 16);
    first.fill(0xff);
    assert.deepEqual(await guard.reader.read(0, 16), expected(0, 16));
  });

  test("the size is the reader's; close does not close the reader", async () => {
    const source = patterned();
    const guard = guardReader(source.reader);
    assert.equal(await guard.reader.size(), 8192);
    assert.equal(await guard.reader.close().then(() => "closed"), "closed");
    assert.equal(source.closed(), 0);
    assert.equal(await guard.reader.size(), 8192);
  });

  test("once released, sizes and reads (head or not) reject and never reach the reader", async () => {
    const source = patterned();
    const guard = guardReader(source.reader);
    guard.release();
    const finished = { message: "the inspection has finished" };
    await assert.rejects(guard.reader.size(), finished);
    await assert.rejects(guard.reader.read(0, 16), finished);
    await assert.rejects(guard.reader.read(5000, 16), finished);
    assert.deepEqual(source.ranges, []);
    await guard.reader.close();
    assert.equal(source.closed(), 0);
  });
});

/** A reader whose size is given (or refused) by hand. */
function pendingSize(): { reader: ImageReader; resolve: (size: number) => void; reject: (error: Error) => void } {
  let resolve: (size: number) => void = () => undefined;
  let reject: (error: Error) => void = () => undefined;
  const size = new Promise<number>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { reader: { ...memoryReader(0, []), size: () => size }, resolve, reject };
}

describe("watchSize", () => {
  test("asks for the size at once and gives it", async () => {
    let asked = 0;
    const size = watchSize({ ...memoryReader(0, []), size: async () => (asked++, 1234) });
    assert.equal(asked, 1);
    assert.equal(await size.promise, 1234);
    assert.equal(await size.soon(0), 1234);
    assert.equal(asked, 1);
  });

  test("soon: a size known by now is given without a timer", async (t) => {
    const timers = t.mock.method(globalThis, "setTimeout");
    const size = watchSize({ ...memoryReader(77, []) });
    await size.promise;
    assert.equal(await size.soon(10_000), 77);
    assert.equal(timers.mock.callCount(), 0);
  });

  test("soon: a size that comes within the wait is given, and the timer is cleared", async (t) => {
    const cleared = t.mock.method(globalThis, "clearTimeout");
    const source = pendingSize();
    const size = watchSize(source.reader);
    const soon = size.soon(60_000);
    source.resolve(4096);
    assert.equal(await soon, 4096);
    assert.equal(cleared.mock.callCount(), 1);
  });

  test("soon: a size that fails is -1, and the timer is cleared; the failure is not unhandled", async (t) => {
    const cleared = t.mock.method(globalThis, "clearTimeout");
    const source = pendingSize();
    const size = watchSize(source.reader);
    const soon = size.soon(60_000);
    source.reject(new Error("stream broke"));
    assert.equal(await soon, -1);
    assert.equal(cleared.mock.callCount(), 1);
    await assert.rejects(size.promise, { message: "stream broke" });
  });

  test("soon: no size within the wait is -1", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const size = watchSize(pendingSize().reader);
    const soon = size.soon(100);
    t.mock.timers.tick(99);
    let answered: number | undefined;
    void soon.then((value) => (answered = value));
    await Promise.resolve();
    assert.equal(answered, undefined);
    t.mock.timers.tick(1);
    assert.equal(await soon, -1);
  });

  test("a size that fails with nobody asking does not surface as an unhandled rejection", async () => {
    const source = pendingSize();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      watchSize(source.reader);
      source.reject(new Error("nobody listens"));
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});
