import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { writeNonZero, ZERO_BLOCK_BYTES } from "../../../src/core/io/write-non-zero.ts";
import { qemuImg, tempDir } from "../../helpers/images.ts";

const KiB = 1024;

/** The data extents the file system reports for a raw file (qemu-img map asks with SEEK_DATA). */
function dataExtents(path: string): [number, number][] {
  const map = JSON.parse(qemuImg("map", "--output=json", "-f", "raw", path)) as {
    start: number;
    length: number;
    data: boolean;
  }[];
  return map.filter((e) => e.data).map((e) => [e.start, e.length]);
}

describe("writeNonZero: the one zero-skipping writer", () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);
  let n = 0;

  async function written(data: Uint8Array, position: number, size: number, block?: number): Promise<string> {
    const path = join(dir, `out-${++n}.raw`);
    const handle = await open(path, "wx");
    try {
      await writeNonZero(handle, data, position, block);
      await handle.truncate(size);
    } finally {
      await handle.close();
    }
    return path;
  }

  it("leaves 64 KiB blocks of zeroes, aligned to the file position, as holes, and writes every other byte", async () => {
    const data = Buffer.alloc(256 * KiB);
    data[10] = 1;
    data[200 * KiB] = 2;
    const path = await written(data, 64 * KiB, 512 * KiB);
    assert.deepEqual(dataExtents(path), [
      [64 * KiB, 64 * KiB],
      [256 * KiB, 64 * KiB],
    ]);
    const back = readFileSync(path);
    assert.ok(back.subarray(64 * KiB, 320 * KiB).equals(data));
    assert.equal(back.length, 512 * KiB);
  });

  it("measures blocks from the file position, not from the data: a write at an odd place ends its first block at a boundary", async () => {
    const data = Buffer.alloc(128 * KiB, 0);
    data[data.length - 1] = 7;
    const path = await written(data, 32 * KiB, 256 * KiB);
    // The data covers [32 KiB, 160 KiB); only the block [128 KiB, 192 KiB) holds a non-zero byte.
    assert.deepEqual(dataExtents(path), [[128 * KiB, 32 * KiB]]);
    assert.equal(readFileSync(path)[160 * KiB - 1], 7);
  });

  it("takes a smaller block, down to a file system page", async () => {
    const data = Buffer.alloc(64 * KiB);
    data[5 * 4 * KiB] = 9;
    const path = await written(data, 0, 64 * KiB, 4 * KiB);
    assert.deepEqual(dataExtents(path), [[20 * KiB, 4 * KiB]]);
  });

  it("writes nothing for all zeroes, and everything for data without a zero block", async () => {
    assert.deepEqual(dataExtents(await written(Buffer.alloc(ZERO_BLOCK_BYTES * 3), 0, ZERO_BLOCK_BYTES * 3)), []);
    const full = Buffer.alloc(ZERO_BLOCK_BYTES * 2, 0xee);
    const path = await written(full, 0, full.length);
    assert.deepEqual(dataExtents(path), [[0, full.length]]);
    assert.ok(readFileSync(path).equals(full));
  });

  it("refuses a block that is not a power of two up to 64 KiB", async () => {
    const handle = await open(join(dir, "refused.raw"), "wx");
    try {
      for (const block of [0, 3000, 128 * KiB, -4096])
        await assert.rejects(writeNonZero(handle, Buffer.alloc(1), 0, block), RangeError, String(block));
    } finally {
      await handle.close();
    }
  });

  it("returns the bytes it wrote as data, the zero blocks left out", async () => {
    const path = join(dir, `out-${++n}.raw`);
    const handle = await open(path, "wx");
    try {
      const data = Buffer.alloc(3 * ZERO_BLOCK_BYTES);
      data[ZERO_BLOCK_BYTES + 5] = 1;
      assert.equal(await writeNonZero(handle, data, 0), ZERO_BLOCK_BYTES);
      assert.equal(await writeNonZero(handle, Buffer.alloc(100, 7), 3 * ZERO_BLOCK_BYTES), 100);
      assert.equal(await writeNonZero(handle, Buffer.alloc(ZERO_BLOCK_BYTES), 4 * ZERO_BLOCK_BYTES), 0);
    } finally {
      await handle.close();
    }
  });
});
