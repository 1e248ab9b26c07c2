import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { readRanges } from "../../../src/core/content-hash/extents.ts";

const KiB = 1024;
const extent = (start: number, length: number, data: boolean, zero = false) => ({ start, length, data, zero });

describe("readRanges: what must be read, from qemu-img map's extents", () => {
  it("reads data extents widened to whole 64 KiB blocks, merged; skips holes and zero extents", () => {
    const size = 1024 * KiB;
    const ranges = readRanges(
      [
        extent(0, 4 * KiB, true),
        extent(4 * KiB, 124 * KiB, false),
        extent(128 * KiB, 64 * KiB, true, true),
        extent(192 * KiB, 8 * KiB, true),
        extent(200 * KiB, 60 * KiB, true),
        extent(260 * KiB, 764 * KiB, false, true),
      ],
      size,
    );
    assert.deepEqual(ranges, [
      { start: 0, end: 64 * KiB },
      { start: 192 * KiB, end: 320 * KiB },
    ]);
  });

  it("reads what map did not cover, and clips to the disk's size (a short last block)", () => {
    const size = 300 * KiB + 100;
    assert.deepEqual(readRanges([extent(64 * KiB, 64 * KiB, false)], size), [
      { start: 0, end: 64 * KiB },
      { start: 128 * KiB, end: size },
    ]);
    assert.deepEqual(readRanges([], 0), []);
    assert.deepEqual(readRanges([extent(0, size, false)], size), []);
  });
});
