import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { regionReader } from "../../../src/core/io/image-region.ts";
import { openFileReader } from "../../../src/core/io/reader.ts";
import { tempDir } from "../../helpers/images.ts";

describe("regionReader", () => {
  const { dir, cleanup } = tempDir("diskpipe-region-");
  after(cleanup);
  const file = join(dir, "file");
  const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 256));
  writeFileSync(file, bytes);
  const open = async (offset: number, length: number) => regionReader(await openFileReader(file), { offset, length });

  it("reads the range only: offsets from its start, nothing before it or past its end", async () => {
    const reader = await open(1000, 500);
    assert.equal(await reader.size(), 500);
    assert.deepEqual(Buffer.from(await reader.read(0, 4)), bytes.subarray(1000, 1004));
    assert.deepEqual(Buffer.from(await reader.read(490, 100)), bytes.subarray(1490, 1500), "a read stops at the end");
    assert.equal((await reader.read(500, 10)).length, 0);
    assert.equal((await reader.read(-1, 10)).length, 0, "nothing before the start");
    assert.equal((await reader.read(1.5, 10)).length, 0);
    assert.equal((await reader.read(0, 0)).length, 0);
    await reader.close();
  });

  it("ends early where the file does (a range past the end reads short, as a cut image would)", async () => {
    const reader = await open(4000, 500);
    assert.equal(await reader.size(), 96);
    assert.deepEqual(Buffer.from(await reader.read(0, 500)), bytes.subarray(4000));
    await reader.close();
    const beyond = await open(5000, 10);
    assert.equal(await beyond.size(), 0);
    assert.equal((await beyond.read(0, 10)).length, 0);
    await beyond.close();
  });

  it("takes a range at the file's start and an empty one, and reads nothing past a range's end", async () => {
    const whole = await open(0, 4096);
    assert.equal(await whole.size(), 4096);
    assert.deepEqual(Buffer.from(await whole.read(0, 8)), bytes.subarray(0, 8));
    await whole.close();
    const empty = await open(100, 0);
    assert.equal(await empty.size(), 0);
    assert.equal((await empty.read(0, 10)).length, 0);
    await empty.close();
    const short = await open(1000, 500);
    assert.equal((await short.read(600, 10)).length, 0, "a read that starts past the end");
    assert.equal((await short.read(499, 10)).length, 1);
    await short.close();
  });

  it("asks the file only for bytes within the range, never for an empty or negative read", async () => {
    const inner = await openFileReader(file);
    const asked: [number, number][] = [];
    const reader = regionReader(
      {
        ...inner,
        read: (offset, length) => {
          asked.push([offset, length]);
          return inner.read(offset, length);
        },
      },
      { offset: 1000, length: 500 },
    );
    for (const [offset, length] of [
      [0, 10],
      [495, 10],
      [500, 10],
      [600, 10],
      [0, 0],
      [-5, 10],
    ] as const)
      await reader.read(offset, length);
    await reader.close();
    assert.deepEqual(asked, [
      [1000, 10],
      [1495, 5],
    ]);
  });

  it("closes the file it reads when it is closed", async () => {
    const inner = await openFileReader(file);
    let closed = 0;
    const reader = regionReader(
      {
        ...inner,
        close: async () => {
          closed += 1;
          await inner.close();
        },
      },
      { offset: 0, length: 10 },
    );
    await reader.close();
    assert.equal(closed, 1);
  });

  it("refuses a range that is not one", async () => {
    for (const [offset, length] of [
      [-1, 10],
      [0, -1],
      [0.5, 10],
      [0, Number.NaN],
      [2 ** 53, 1],
    ]) {
      const inner = await openFileReader(file);
      assert.throws(() => regionReader(inner, { offset: offset ?? 0, length: length ?? 0 }), RangeError);
      await inner.close();
    }
  });
});
