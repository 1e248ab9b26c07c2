import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { BLOCK_SIZE, ContentHasher, parseContentHash } from "../../../src/core/content-hash/construction.ts";
import { referenceContentHash } from "../../helpers/content-hash.ts";

/** Feeds `disk` as the product would: zero runs of `zeroRuns` blocks as known zeroes, the rest as data. */
function hashWithRuns(disk: Buffer, known: (block: number) => boolean): string {
  const hasher = new ContentHasher(disk.length);
  let block = 0;
  while (block < hasher.blocks) {
    let end = block;
    const zero = known(block);
    while (end < hasher.blocks && known(end) === zero) end++;
    if (zero) hasher.zeros(end - block);
    else hasher.data(disk.subarray(block * BLOCK_SIZE, end * BLOCK_SIZE));
    block = end;
  }
  return hasher.digest();
}

describe("ContentHasher", () => {
  it("equals the definition, whether zero blocks are fed as known zeroes or as data, at every alignment", () => {
    for (const size of [BLOCK_SIZE * 13, BLOCK_SIZE * 13 + 1000, BLOCK_SIZE * 4100 + 7]) {
      const disk = Buffer.alloc(size);
      for (const block of [1, 5, 6, 12]) randomBytes(100).copy(disk, block * BLOCK_SIZE + 50);
      const expected = referenceContentHash(disk);
      const isData = (b: number) => [1, 5, 6, 12].includes(b);
      assert.equal(
        hashWithRuns(disk, (b) => !isData(b)),
        expected,
        `size ${size}, holes known`,
      );
      assert.equal(
        hashWithRuns(disk, () => false),
        expected,
        `size ${size}, all read`,
      );
      assert.equal(
        hashWithRuns(disk, (b) => !isData(b) && b % 3 === 0),
        expected,
        `size ${size}, some holes known`,
      );
    }
  });

  it("feeds long zero runs (more than 2048 digests per stream at once) as block-by-block feeding would", () => {
    const blocks = 4 * 2048 * 2 + 37;
    const zero = Buffer.alloc(BLOCK_SIZE);
    const data = randomBytes(BLOCK_SIZE);
    const runs = new ContentHasher(blocks * BLOCK_SIZE);
    const single = new ContentHasher(blocks * BLOCK_SIZE);
    runs.zeros(3);
    runs.data(data);
    runs.zeros(blocks - 4);
    for (let i = 0; i < blocks; i++) single.data(i === 3 ? data : zero);
    assert.equal(runs.digest(), single.digest());
    assert.equal(runs.hashedBytes, BLOCK_SIZE);
  });

  it("gives the short last block its own zero digest", () => {
    const size = BLOCK_SIZE * 2 + 512;
    const expected = referenceContentHash(Buffer.alloc(size));
    const zeros = new ContentHasher(size);
    zeros.zeros(3);
    assert.equal(zeros.digest(), expected);
    const data = new ContentHasher(size);
    data.data(Buffer.alloc(size));
    assert.equal(data.digest(), expected);
    assert.equal(data.hashedBytes, 0, "all-zero blocks are not hashed");
    assert.notEqual(expected, referenceContentHash(Buffer.alloc(BLOCK_SIZE * 3)));
  });

  it("hashes an empty disk, and refuses a wrong number of blocks", () => {
    assert.equal(new ContentHasher(0).digest(), referenceContentHash(Buffer.alloc(0)));
    const short = new ContentHasher(BLOCK_SIZE * 2);
    short.zeros(1);
    assert.throws(() => short.digest(), /1 of 2 blocks/);
    assert.throws(() => short.zeros(2), /more than the disk's 2 blocks/);
    assert.throws(() => new ContentHasher(BLOCK_SIZE).data(Buffer.alloc(10)), /not whole blocks/);
  });

  it("parses blk-sha256:HEX and refuses anything else", () => {
    const hex = "AB".repeat(32);
    assert.equal(parseContentHash(`blk-sha256:${hex}`), `blk-sha256:${hex.toLowerCase()}`);
    for (const bad of ["sha256:" + hex, "blk-sha256:" + hex.slice(2), "blk-sha256:" + "zz".repeat(32)])
      assert.throws(() => parseContentHash(bad), { code: "usage" });
  });
});
