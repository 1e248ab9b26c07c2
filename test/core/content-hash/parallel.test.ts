import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { BLOCK_SIZE } from "../../../src/core/content-hash/construction.ts";
import { ParallelHasher } from "../../../src/core/content-hash/parallel.ts";
import { referenceContentHash } from "../../helpers/content-hash.ts";

describe("ParallelHasher (worker threads, each owning some of the 4 streams)", () => {
  for (const threads of [2, 3, 4]) {
    it(`equals the definition with ${threads} threads: data, known zero runs, an all-zero data block, a short last block`, async () => {
      const size = BLOCK_SIZE * 4200 + 777;
      const disk = Buffer.alloc(size);
      randomBytes(3 * BLOCK_SIZE).copy(disk, 0);
      randomBytes(5000).copy(disk, BLOCK_SIZE * 4100 + 10);
      const hasher = new ParallelHasher(size, threads);
      const put = async (from: number, to: number) => {
        const shared = ParallelHasher.buffer(to - from);
        disk.copy(shared, 0, from, to);
        await hasher.data(shared);
      };
      await put(0, 5 * BLOCK_SIZE); // blocks 3 and 4 are all zero, read as data
      hasher.zeros(4100 - 5);
      await put(4100 * BLOCK_SIZE, 4101 * BLOCK_SIZE);
      hasher.zeros(hasher.blocks - hasher.position);
      assert.equal(await hasher.digest(), referenceContentHash(disk));
      assert.equal(hasher.hashedBytes, 4 * BLOCK_SIZE);
    });
  }

  it("refuses a digest before every block was fed, and ends its workers", async () => {
    const hasher = new ParallelHasher(BLOCK_SIZE * 3, 2);
    hasher.zeros(1);
    await assert.rejects(hasher.digest(), /1 of 3 blocks/);
  });
});
