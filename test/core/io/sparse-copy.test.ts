import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { closeSync, ftruncateSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { sparseCopy } from "../../../src/core/io/sparse-copy.ts";
import { tempDir } from "../../helpers/images.ts";

const MiB = 1024 * 1024;

/** A sparse file of `size` bytes with `data` written at each offset. */
function sparseFile(path: string, size: number, writes: Array<[number, Buffer]>): string {
  const fd = openSync(path, "w");
  try {
    ftruncateSync(fd, size);
    for (const [at, data] of writes) writeSync(fd, data, 0, data.length, at);
  } finally {
    closeSync(fd);
  }
  return path;
}

describe("sparseCopy", () => {
  it("copies every byte, leaves zero blocks as holes, and reports progress to the end", async () => {
    const { dir, cleanup } = tempDir();
    try {
      // Data across chunk boundaries (4 MiB), a partial block, a run of written zeroes, an odd size.
      const size = 13 * MiB + 4321;
      const source = sparseFile(join(dir, "in.raw"), size, [
        [0, randomBytes(100)],
        [4 * MiB - 10, randomBytes(20)],
        [5 * MiB, Buffer.alloc(2 * MiB)],
        [9 * MiB + 65_536 * 3 + 7, randomBytes(70_000)],
        [size - 5, randomBytes(5)],
      ]);
      const seen: number[] = [];
      const total = await sparseCopy(source, join(dir, "out.raw"), (bytes, all) => {
        assert.equal(all, size);
        seen.push(bytes);
      });
      assert.equal(total, size);
      assert.ok(readFileSync(join(dir, "out.raw")).equals(readFileSync(source)));
      assert.equal(seen.at(-1), size);
      assert.deepEqual(
        seen,
        [...seen].sort((a, b) => a - b),
      );
      // Five written regions of at most a few 64 KiB blocks each; the written zeroes stay a hole.
      assert.ok(
        statSync(join(dir, "out.raw")).blocks * 512 <= 8 * 64 * 1024,
        `allocated ${statSync(join(dir, "out.raw")).blocks * 512}`,
      );
    } finally {
      cleanup();
    }
  });

  it("reads only the given ranges: the rest of the output is a hole", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const size = 12 * MiB;
      const a = randomBytes(5 * MiB);
      const b = randomBytes(1000);
      const source = sparseFile(join(dir, "in.raw"), size, [
        [MiB, a],
        [10 * MiB, b],
        [8 * MiB, randomBytes(10)],
      ]);
      const seen: number[] = [];
      // The bytes at 8 MiB lie outside the ranges: a range list says where data may be, so they are not copied.
      await sparseCopy(source, join(dir, "out.raw"), (bytes) => seen.push(bytes), undefined, undefined, [
        { start: 10 * MiB, length: 64 * 1024 },
        { start: MiB, length: 5 * MiB },
        { start: 20 * MiB, length: MiB },
      ]);
      const out = readFileSync(join(dir, "out.raw"));
      assert.equal(out.length, size);
      assert.ok(out.subarray(MiB, 6 * MiB).equals(a));
      assert.ok(out.subarray(10 * MiB, 10 * MiB + 1000).equals(b));
      assert.ok(out.subarray(8 * MiB, 8 * MiB + 10).equals(Buffer.alloc(10)));
      assert.equal(seen.at(-1), 10 * MiB + 64 * 1024);
    } finally {
      cleanup();
    }
  });

  it("copies an empty file and refuses an existing destination", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const source = sparseFile(join(dir, "in.raw"), 0, []);
      assert.equal(await sparseCopy(source, join(dir, "out.raw")), 0);
      assert.equal(statSync(join(dir, "out.raw")).size, 0);
      await assert.rejects(sparseCopy(source, join(dir, "out.raw")), { code: "EEXIST" });
    } finally {
      cleanup();
    }
  });

  it("stops when aborted and paces every chunk", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const source = sparseFile(join(dir, "in.raw"), 20 * MiB, [[MiB, randomBytes(MiB)]]);
      const controller = new AbortController();
      const taken: number[] = [];
      const pace = {
        take: async (bytes: number) => {
          taken.push(bytes);
          if (taken.length === 2) controller.abort(new Error("stop"));
        },
      };
      await assert.rejects(sparseCopy(source, join(dir, "out.raw"), undefined, controller.signal, pace), /stop/);
      assert.deepEqual(taken, [4 * MiB, 4 * MiB]);
    } finally {
      cleanup();
    }
  });
});
