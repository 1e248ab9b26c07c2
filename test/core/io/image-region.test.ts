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
