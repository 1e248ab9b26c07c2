import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { detectVhd, MiB, VhdImage, type DynamicFields } from "./vhd-image.ts";

const corrupt = (why: string) => ({ code: "vhd-corrupt-header", message: `VHD dynamic header is corrupt: ${why}` });
const BLOCK_PAST_END = { code: "truncated", message: "VHD is truncated: a block lies past the end of the file" };
const TABLE_PAST_END = { code: "truncated", message: "VHD is truncated: the block table lies past the end" };
const INT32_MAX = 2 ** 31 - 1;

/** A dynamic disk of `size` bytes in blocks of `blockSize`, its dynamic header edited by `edit`. */
function dynamicDisk(
  size: number | bigint,
  blockSize: number,
  edit: (d: DynamicFields) => void = () => undefined,
): VhdImage {
  const image = new VhdImage(3, size, blockSize);
  if (image.dynamic) edit(image.dynamic);
  return image;
}

/** The problems the detector finds in `image`. */
async function problems(image: VhdImage): Promise<unknown> {
  return (await detectVhd(image))?.problems;
}

describe("VHD dynamic header placement", () => {
  test("the header must start at 512 or later and at a safe integer", async () => {
    for (const dataOffset of [0n, 511n, 2n ** 53n, 2n ** 64n - 1n]) {
      const image = new VhdImage(3);
      image.footers((f) => (f.dataOffset = dataOffset));
      const found = await detectVhd(image);
      assert.deepEqual(found?.problems, [corrupt("its offset is invalid")], `${dataOffset}`);
      assert.equal(found?.details?.blockSize, undefined);
    }
  });

  test("the largest safe header offset is read as an offset, past the end", async () => {
    const image = new VhdImage(3);
    image.footers((f) => (f.dataOffset = 2n ** 53n - 1n));
    assert.deepEqual(await problems(image), [
      { code: "truncated", message: "VHD is truncated: the dynamic header lies past the end" },
    ]);
  });

  test("the header must end by the end of the file", async () => {
    // The header's last 512 bytes are the footer: an odd layout, but within the file.
    const image = new VhdImage(3);
    image.fileSize = 2048;
    image.footers((f) => (f.dataOffset = 1024n));
    if (image.dynamic) image.dynamic.tableOffset = 512n;
    assert.deepEqual(await problems(image), []);
    image.footers((f) => (f.dataOffset = 1536n));
    assert.deepEqual(await problems(image), [
      { code: "truncated", message: "VHD is truncated: the dynamic header lies past the end" },
    ]);
  });

  test("the header needs its cookie and its checksum", async () => {
    assert.deepEqual(await problems(dynamicDisk(4 * MiB, 2 * MiB, (d) => (d.cookie = "cxsparsE"))), [
      corrupt("no cxsparse cookie"),
    ]);
    assert.deepEqual(await problems(dynamicDisk(4 * MiB, 2 * MiB, (d) => (d.checksum = false))), [
      { code: "vhd-checksum", message: "VHD dynamic header checksum is wrong" },
    ]);
  });

  test("with a wrong checksum the header is still checked; an invalid block size is then the one problem told", async () => {
    const found = await detectVhd(dynamicDisk(4 * MiB, 3 * MiB, (d) => (d.checksum = false)));
    assert.deepEqual(found?.problems, [corrupt(`block size ${3 * MiB} is invalid`)]);
    const twoProblems = await detectVhd(dynamicDisk(4 * MiB, 2 * MiB, (d) => ((d.checksum = false), (d.entries = 1))));
    assert.deepEqual(twoProblems?.problems, [
      { code: "vhd-checksum", message: "VHD dynamic header checksum is wrong" },
      corrupt("block table is too small for the disk"),
    ]);
    assert.equal(found?.details?.batEntries, 2);
  });
});

describe("VHD block size and table size", () => {
  test("block sizes are powers of two of 512 bytes or more", async () => {
    for (const blockSize of [512, 1024, 2 * MiB, 4 * MiB]) {
      const found = await detectVhd(dynamicDisk(4 * MiB, blockSize));
      assert.deepEqual(found?.problems, [], `${blockSize}`);
      assert.equal(found?.details?.blockSize, blockSize);
    }
    for (const blockSize of [0, 256, 3 * MiB, 2 * MiB + 512]) {
      const found = await detectVhd(dynamicDisk(4 * MiB, 2 * MiB, (d) => (d.blockSize = blockSize)));
      assert.deepEqual(found?.problems, [corrupt(`block size ${blockSize} is invalid`)], `${blockSize}`);
      assert.deepEqual(found?.details?.batEntries, 2);
    }
  });

  test("the table must cover the disk: exactly enough entries is enough", async () => {
    assert.deepEqual(await problems(dynamicDisk(4 * MiB, 2 * MiB, (d) => (d.entries = 1))), [
      corrupt("block table is too small for the disk"),
    ]);
    assert.deepEqual(await problems(dynamicDisk(4 * MiB + 512, 2 * MiB, (d) => (d.entries = 2))), [
      corrupt("block table is too small for the disk"),
    ]);
    assert.deepEqual(await problems(dynamicDisk(4 * MiB + 512, 2 * MiB)), []);
  });

  test("the table may describe at most 2040 GiB", async () => {
    const most = (0xff000000 * 512) / (2 * MiB);
    const fits = dynamicDisk(4 * MiB, 2 * MiB, (d) => (d.entries = most));
    fits.fileSize = 1536 + most * 4 + 512;
    assert.deepEqual(await problems(fits), []);
    const over = dynamicDisk(4 * MiB, 2 * MiB, (d) => (d.entries = most + 1));
    over.fileSize = 1536 + most * 4 + 1024;
    assert.deepEqual(await problems(over), [corrupt("block table is too large")]);
  });

  test("the table may take at most 16 MiB, whatever the block size", async () => {
    const most = 4 * MiB;
    const fits = dynamicDisk(4 * MiB, 512, (d) => (d.entries = most));
    fits.fileSize = 1536 + 16 * MiB + 512;
    assert.deepEqual(await problems(fits), []);
    const over = dynamicDisk(4 * MiB, 512, (d) => (d.entries = most + 1));
    over.fileSize = 1536 + 16 * MiB + 1024;
    assert.deepEqual(await problems(over), [corrupt(`block table of ${most + 1} entries is too large`)]);
  });

  test("both bounds on the table are told", async () => {
    const found = await problems(dynamicDisk(64 * MiB, 512, (d) => (d.entries = 0xffffffff)));
    assert.deepEqual(found, [
      corrupt("block table is too large"),
      corrupt("block table of 4294967295 entries is too large"),
    ]);
  });

  test("the table must start below 2^31 sectors", async () => {
    const last = dynamicDisk(4 * MiB, 2 * MiB, (d) => (d.tableOffset = BigInt(INT32_MAX) * 512n + 511n));
    assert.deepEqual(await problems(last), [TABLE_PAST_END]);
    const first = dynamicDisk(4 * MiB, 2 * MiB, (d) => (d.tableOffset = BigInt(INT32_MAX + 1) * 512n));
    assert.deepEqual(await problems(first), [corrupt("block table offset is invalid")]);
  });
});

describe("VHD block table", () => {
  test("the table must lie wholly in the file", async () => {
    const cut = dynamicDisk(4 * MiB, 2 * MiB);
    if (cut.dynamic) cut.dynamic.tableOffset = BigInt(cut.fileSize - 4);
    assert.deepEqual(await problems(cut), [TABLE_PAST_END]);
  });

  test("a table ending inside the file's last partial sector ends, rounded up, past the end", async () => {
    // The table is the footer's last 8 bytes (zeros: two blocks at sector 0, which fit).
    for (const [fileSize, expected] of [
      [4 * MiB, []],
      [4 * MiB + 1, [BLOCK_PAST_END]],
    ] as const) {
      const image = dynamicDisk(4 * MiB, 2 * MiB);
      image.fileSize = fileSize;
      if (image.dynamic) image.dynamic.tableOffset = BigInt(fileSize - 8);
      assert.deepEqual(await problems(image), expected, `${fileSize}`);
    }
  });

  test("a block with its 512-byte bitmap may end at the end of the file, not past it", async () => {
    for (const blockSize of [MiB, 2 * MiB]) {
      const image = dynamicDisk(4 * MiB, blockSize);
      const start = image.fileSize;
      image.bat.set(1, start / 512);
      image.fileSize = start + 512 + blockSize;
      assert.deepEqual(await problems(image), [], `${blockSize}`);
      image.bat.set(1, start / 512 + 1);
      assert.deepEqual(await problems(image), [BLOCK_PAST_END], `${blockSize}`);
    }
  });

  test("a 4 MiB block has a 1 KiB bitmap", async () => {
    const image = dynamicDisk(4 * MiB, 4 * MiB);
    const start = image.fileSize;
    image.bat.set(0, start / 512);
    image.fileSize = start + 1024 + 4 * MiB;
    assert.deepEqual(await problems(image), []);
    image.fileSize -= 1;
    assert.deepEqual(await problems(image), [BLOCK_PAST_END]);
  });

  test("the furthest block counts, wherever it is in the table", async () => {
    const image = dynamicDisk(4 * MiB, 2 * MiB);
    image.bat.set(0, 2 ** 24);
    image.bat.set(1, 0);
    assert.deepEqual(await problems(image), [BLOCK_PAST_END]);
  });

  test("entries past the first 64 KiB of the table are read too, up to the table's end", async () => {
    const image = dynamicDisk(40000n * 512n, 512);
    image.bat.set(39999, 2 ** 24);
    assert.deepEqual(await problems(image), [BLOCK_PAST_END]);
    const beyond = dynamicDisk(40000n * 512n, 512);
    beyond.batWritten = 40001;
    beyond.bat.set(40000, 2 ** 24);
    assert.deepEqual(await problems(beyond), []);
  });
});
