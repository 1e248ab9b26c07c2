import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  BAT_AT,
  clean,
  detect,
  GUID,
  headerFields,
  LOG_AT,
  METADATA_AT,
  MiB,
  PRESENT,
  VhdxImage,
} from "./vhdx-image.ts";

const FOUR_MIB = clean(4 * MiB);

/** The problems found in `image` after a fully present block at `offset` is put at BAT `index`. */
async function problemsWithBlock(image: VhdxImage, index: number, offset: number, state = PRESENT): Promise<unknown> {
  image.bat.set(index, BigInt(offset) | state);
  return (await detect(image)).found?.problems;
}

const pastEnd = (index: number) => [
  { code: "truncated", message: `VHDX is truncated: block ${index} lies past the end of the file` },
];
const overlaps = (index: number) => [
  { code: "vhdx-corrupt-header", message: `VHDX is corrupt: block ${index} overlaps the headers or a region` },
];

describe("VHDX regions against the file size", () => {
  test("the BAT region may end at the end of the file, not past it", async () => {
    const image = new VhdxImage();
    image.fileSize = BAT_AT + MiB;
    assert.deepEqual((await detect(image)).found, FOUR_MIB);
    image.fileSize = BAT_AT + MiB - 1;
    const { found, headers } = await detect(image);
    assert.deepEqual(found, {
      ...FOUR_MIB,
      problems: [{ code: "truncated", message: "VHDX is truncated: a region lies past the end of the file" }],
    });
    assert.equal(headers.length, 1);
  });

  test("so may the metadata region", async () => {
    const image = new VhdxImage();
    image.regions[1] = { guid: GUID.metadata, offset: 4 * MiB, length: MiB, required: 1 };
    image.metadataAt = 4 * MiB;
    image.fileSize = 5 * MiB;
    assert.deepEqual((await detect(image)).found, FOUR_MIB);
    image.fileSize = 5 * MiB - 1;
    assert.deepEqual((await detect(image)).found?.problems, [
      { code: "truncated", message: "VHDX is truncated: a region lies past the end of the file" },
    ]);
  });
});

describe("VHDX payload blocks", () => {
  test("a block may end at the end of the file, not past it", async () => {
    const image = new VhdxImage();
    image.fileSize = 5 * MiB;
    assert.deepEqual(await problemsWithBlock(image, 0, 4 * MiB), []);
    image.fileSize = 5 * MiB - 1;
    assert.deepEqual(await problemsWithBlock(image, 0, 4 * MiB), pastEnd(0));
  });

  test("the block size counts: a 2 MiB block at 4 MiB needs 6 MiB", async () => {
    const image = new VhdxImage({ blockSize: 2 * MiB });
    image.fileSize = 6 * MiB;
    assert.deepEqual(await problemsWithBlock(image, 0, 4 * MiB), []);
    image.fileSize = 6 * MiB - 1;
    assert.deepEqual(await problemsWithBlock(image, 0, 4 * MiB), pastEnd(0));
  });

  test("only fully present blocks (state 6) are checked", async () => {
    for (let state = 0n; state < 8n; state++) {
      const expected = state === PRESENT ? pastEnd(1) : [];
      assert.deepEqual(await problemsWithBlock(new VhdxImage(), 1, 64 * MiB, state), expected, `state ${state}`);
    }
  });

  test("bits 3 to 19 of an entry are not part of the offset", async () => {
    const image = new VhdxImage();
    image.fileSize = 5 * MiB;
    assert.deepEqual(await problemsWithBlock(image, 0, 4 * MiB + 0xffff8), []);
  });

  test("a block must not overlap the headers, the log, the metadata or the BAT", async () => {
    for (const offset of [0, LOG_AT, METADATA_AT, BAT_AT]) {
      assert.deepEqual(await problemsWithBlock(new VhdxImage(), 2, offset), overlaps(2), `block at ${offset}`);
    }
  });

  test("with an empty log, a block may fill the MiB before the metadata region", async () => {
    const image = new VhdxImage();
    image.headers = [{ ...headerFields(1n), logLength: 0 }, undefined];
    assert.deepEqual(await problemsWithBlock(image, 0, LOG_AT), []);
    const wide = new VhdxImage({ blockSize: 2 * MiB });
    wide.headers = [{ ...headerFields(1n), logLength: 0 }, undefined];
    assert.deepEqual(await problemsWithBlock(wide, 0, LOG_AT), overlaps(0));
  });

  test("only the first bad block is told", async () => {
    const image = new VhdxImage();
    image.bat.set(1, BigInt(0) | PRESENT);
    assert.deepEqual(await problemsWithBlock(image, 2, 64 * MiB), overlaps(1));
  });
});

describe("VHDX sector bitmap entries and large tables", () => {
  /** A dynamic disk of `blocks` 1 MiB blocks, its BAT region `batLength` long. */
  function disk(blocks: number, batLength = MiB): VhdxImage {
    const image = new VhdxImage({ virtualDiskSize: BigInt(blocks) * BigInt(MiB) });
    image.regions[0] = { guid: GUID.bat, offset: BAT_AT, length: batLength, required: 1 };
    image.fileSize = BAT_AT + batLength;
    return image;
  }

  test("the entry after every 4096 block entries is a sector bitmap entry and is not checked", async () => {
    assert.deepEqual(await problemsWithBlock(disk(4097), 4096, 64 * MiB), []);
    assert.deepEqual(await problemsWithBlock(disk(4097), 4095, 64 * MiB), pastEnd(4095));
    assert.deepEqual(await problemsWithBlock(disk(4097), 4097, 64 * MiB), pastEnd(4097));
  });

  test("the last entry is checked, entries past the table are not", async () => {
    assert.deepEqual(await problemsWithBlock(new VhdxImage(), 3, 64 * MiB), pastEnd(3));
    assert.deepEqual(await problemsWithBlock(new VhdxImage(), 4, 64 * MiB), []);
    // 4095 blocks: no bitmap entry follows the last one.
    assert.deepEqual(await problemsWithBlock(disk(4095), 4094, 64 * MiB), pastEnd(4094));
    assert.deepEqual(await problemsWithBlock(disk(4095), 4095, 64 * MiB), []);
  });

  test("entries are numbered across the 64 KiB pieces the table is read in", async () => {
    assert.deepEqual(await problemsWithBlock(disk(9000), 8191, 64 * MiB), pastEnd(8191));
    // 8193 is the second bitmap entry (4096 + 4097), read in the second piece.
    assert.deepEqual(await problemsWithBlock(disk(9000), 8193, 64 * MiB), []);
    assert.deepEqual(await problemsWithBlock(disk(9000), 8195, 64 * MiB), pastEnd(8195));
    const two = disk(9000);
    two.bat.set(8195, BigInt(64 * MiB) | PRESENT);
    assert.deepEqual(await problemsWithBlock(two, 1, 0), overlaps(1));
  });

  test("a table of up to 16 MiB is scanned, a larger one is left to qemu", async () => {
    // 2096641 blocks and 511 bitmap entries: 2097152 entries, 16 MiB.
    assert.deepEqual(await problemsWithBlock(disk(2096641, 17 * MiB), 0, 64 * MiB), pastEnd(0));
    assert.deepEqual(await problemsWithBlock(disk(2096642, 17 * MiB), 0, 64 * MiB), []);
  });
});
