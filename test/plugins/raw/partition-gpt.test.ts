import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { crc32 } from "../../../src/core/inspect/crc.ts";
import { partitionDetector } from "../../../src/plugins/raw/partition.ts";
import { detectGpt, detectPartition, gptRegions, gptSpec, mbr } from "./partition-image.ts";
import { countingReader, memoryReader } from "../../core/inspect/readers.ts";

const MiB = 1024 * 1024;
const bad = (why: string) => ({ code: "partition-table", message: `GPT is invalid: ${why}` });

/** The problems reported for a GPT disk built from `change`. */
async function problemsOf(change: Parameters<typeof gptSpec>[0]): Promise<unknown[]> {
  const found = await detectGpt(gptSpec(change));
  assert.equal(found?.variant, "gpt");
  return found.problems;
}

describe("GPT", () => {
  test("a sound GPT: its sector size and used entries", async () => {
    assert.deepEqual(
      await detectGpt(
        gptSpec({
          entries: [
            { index: 0, first: 34n, last: 100n },
            { index: 5, first: 101n, last: 2014n },
          ],
        }),
      ),
      {
        format: "raw",
        variant: "gpt",
        virtualSize: MiB,
        problems: [],
        details: { sectorSize: 512, partitions: 2 },
      },
    );
  });

  test("a protective entry in any MBR slot leads to the GPT", async () => {
    for (const protectiveSlot of [1, 2, 3])
      assert.deepEqual(await problemsOf({ protectiveSlot }), [], String(protectiveSlot));
  });

  test("4 KiB sectors: the header at byte 4096, sectors counted in 4 KiB", async () => {
    const spec = gptSpec({
      sectorSize: 4096,
      size: 64 * 4096 + 4095,
      entriesLba: 2n,
      lastUsable: 63n,
      entries: [{ index: 3, first: 6n, last: 63n }],
    });
    const found = await detectGpt(spec);
    assert.deepEqual(
      [found?.problems, found?.details, found?.virtualSize],
      [[], { sectorSize: 4096, partitions: 1 }, 64 * 4096 + 4096],
    );
    assert.deepEqual(await problemsOf({ ...spec, lastUsable: 64n }), [
      bad("last usable LBA 64 is past the end of the disk (64 sectors)"),
    ]);
    assert.deepEqual(await problemsOf({ ...spec, entries: [{ index: 3, first: 6n, last: 64n }] }), [
      bad("partitions lie outside the disk: entry 4: LBA 6..64"),
    ]);
  });

  test("the 512-byte header wins over a 4 KiB one", async () => {
    const regions = [
      ...gptRegions(gptSpec({ sectorSize: 4096, entriesLba: 3n, lastUsable: 200n })),
      ...gptRegions(gptSpec({ count: 4 })),
    ];
    assert.deepEqual((await detectPartition(MiB, regions))?.details, { sectorSize: 512, partitions: 1 });
  });

  test("a protective MBR without a GPT header", async () => {
    const found = await detectPartition(MiB, [{ offset: 0, bytes: mbr([{ type: 0xee, start: 1, sectors: 2047 }]) }]);
    assert.deepEqual(found, {
      format: "raw",
      variant: "gpt",
      virtualSize: MiB,
      problems: [bad("a protective MBR but no GPT header")],
      details: {},
    });
  });

  test("header size: 92 to 512 bytes, all of it under the CRC", async () => {
    assert.deepEqual(await problemsOf({ headerSize: 91 }), [bad("header size 91 is invalid")]);
    assert.deepEqual(await problemsOf({ headerSize: 513 }), [bad("header size 513 is invalid")]);
    assert.deepEqual(await problemsOf({ headerSize: 512 }), []);
    assert.deepEqual(await problemsOf({ headerSize: 300 }), []);
  });

  test("a wrong header CRC", async () => {
    assert.deepEqual(await problemsOf({ headerCrc: 0 }), [bad("header CRC is wrong")]);
    // The CRC of 92 bytes cannot stand for a header that says it is 93.
    const spec = gptSpec();
    const header = gptRegions(spec)[1]?.bytes ?? new Uint8Array(0);
    const crc92 = Buffer.from(header).readUInt32LE(16);
    assert.deepEqual(await problemsOf({ headerSize: 93, headerCrc: crc92 }), [bad("header CRC is wrong")]);
  });

  test("the header must say it is at LBA 1", async () => {
    assert.deepEqual(await problemsOf({ myLba: 2n }), [bad("header does not say it is at LBA 1")]);
    assert.deepEqual(await problemsOf({ myLba: 0n }), [bad("header does not say it is at LBA 1")]);
  });

  test("entry size: a multiple of 128, at least 128", async () => {
    for (const entrySize of [0, 64, 127, 129, 192])
      assert.deepEqual(
        await problemsOf({ entrySize, count: 4, entries: [] }),
        [bad(`entry size ${entrySize} is invalid`)],
        String(entrySize),
      );
    assert.deepEqual(await problemsOf({ entrySize: 256, count: 64 }), []);
  });

  test("the entry array: at most 1 MiB", async () => {
    const size = 4 * MiB;
    const lastUsable = BigInt(size / 512 - 34);
    assert.deepEqual(await problemsOf({ size, lastUsable, count: 8192 }), []);
    assert.deepEqual(await problemsOf({ size, lastUsable, count: 8193 }), [
      bad(`entry array of ${8193 * 128} bytes is too large`),
    ]);
    assert.deepEqual(await problemsOf({ size, lastUsable, count: 2, entrySize: 512 * 1024 + 128 }), [
      bad(`entry array of ${2 * (512 * 1024 + 128)} bytes is too large`),
    ]);
  });

  test("the entry array may end at the end of the disk, not past it", async () => {
    const size = 64 * 1024;
    const sectors = size / 512;
    const spec = {
      size,
      lastUsable: BigInt(sectors - 1),
      entries: [{ index: 0, first: 34n, last: BigInt(sectors - 1) }],
    };
    const lastLba = BigInt(sectors - 32);
    assert.deepEqual(await problemsOf({ ...spec, entriesLba: lastLba }), []);
    assert.deepEqual(await problemsOf({ ...spec, entriesLba: lastLba + 1n }), [
      bad("entry array lies past the end of the disk"),
    ]);
    assert.deepEqual(await problemsOf({ ...spec, entriesLba: 2n ** 60n }), [
      bad("entry array lies past the end of the disk"),
    ]);
  });

  test("the last usable LBA is inside the disk", async () => {
    assert.deepEqual(await problemsOf({ lastUsable: 2047n }), []);
    assert.deepEqual(await problemsOf({ lastUsable: 2048n }), [
      bad("last usable LBA 2048 is past the end of the disk (2048 sectors)"),
    ]);
  });

  test("a wrong entry array CRC", async () => {
    assert.deepEqual(await problemsOf({ entriesCrc: 1 }), [bad("entry array CRC is wrong")]);
  });

  test("partitions: first <= last < disk sectors; empty entries are skipped; three are named", async () => {
    const entry = (index: number, first: bigint, last: bigint) => ({ index, first, last });
    assert.deepEqual(await problemsOf({ entries: [entry(0, 34n, 34n), entry(1, 35n, 2047n)] }), []);
    assert.deepEqual(await problemsOf({ entries: [entry(0, 35n, 34n)] }), [
      bad("partitions lie outside the disk: entry 1: LBA 35..34"),
    ]);
    assert.deepEqual(await problemsOf({ entries: [entry(9, 34n, 2048n)] }), [
      bad("partitions lie outside the disk: entry 10: LBA 34..2048"),
    ]);
    const four = [entry(1, 9n, 8n), entry(2, 34n, 2048n), entry(3, 34n, 9999n), entry(127, 34n, 2n ** 64n - 1n)];
    assert.deepEqual(await problemsOf({ entries: four }), [
      bad("partitions lie outside the disk: entry 2: LBA 9..8, entry 3: LBA 34..2048, entry 4: LBA 34..9999"),
    ]);
  });

  test("an entry counts as used when any byte of its type GUID is set", async () => {
    const spec = gptSpec({ entries: [] });
    const regions = gptRegions(spec);
    const entries = Buffer.from(regions[2]?.bytes ?? []);
    entries.writeUInt8(1, 128 + 15);
    entries.writeBigUInt64LE(34n, 128 + 32);
    entries.writeBigUInt64LE(9999n, 128 + 40);
    entries.writeUInt8(1, 256 + 16);
    entries.writeBigUInt64LE(9999n, 256 + 40);
    const found = await detectGpt(gptSpec({ entries: [], entriesCrc: crc32(entries) }), [
      { offset: 1024, bytes: entries },
    ]);
    assert.deepEqual(found?.problems, [bad("partitions lie outside the disk: entry 2: LBA 34..9999")]);
  });

  test("entries are checked across read chunks and numbered from the array's start", async () => {
    // 384-byte entries: a 64 KiB chunk holds 170 of them, so entry 171 starts the second read.
    const size = 4 * MiB;
    const sectors = size / 512;
    const change = { size, lastUsable: BigInt(sectors - 1), entrySize: 384, count: 400 };
    const entries = [
      { index: 169, first: 34n, last: BigInt(sectors) },
      { index: 170, first: 34n, last: BigInt(sectors) },
      { index: 399, first: 35n, last: 34n },
    ];
    assert.deepEqual(await problemsOf({ ...change, entries }), [
      bad(
        `partitions lie outside the disk: entry 170: LBA 34..${sectors}, entry 171: LBA 34..${sectors}, entry 400: LBA 35..34`,
      ),
    ]);
    assert.deepEqual(
      (await detectGpt(gptSpec({ ...change, entries: entries.map((e) => ({ ...e, first: 34n, last: 35n })) })))
        ?.details,
      { sectorSize: 512, partitions: 3 },
    );
  });

  test("an entry larger than a read chunk is still read whole", async () => {
    const size = 4 * MiB;
    const change = { size, lastUsable: BigInt(size / 512 - 1), entrySize: 128 * 1024, count: 2 };
    assert.deepEqual(await problemsOf({ ...change, entries: [{ index: 1, first: 34n, last: BigInt(size / 512) }] }), [
      bad(`partitions lie outside the disk: entry 2: LBA 34..${size / 512}`),
    ]);
    assert.deepEqual(
      (await detectGpt(gptSpec({ ...change, entries: [{ index: 1, first: 34n, last: 40n }] })))?.details,
      { sectorSize: 512, partitions: 1 },
    );
  });

  test("the entry array is read in chunks of whole entries, at most 64 KiB unless one entry is larger", async () => {
    const reads = async (change: Parameters<typeof gptSpec>[0]) => {
      const spec = gptSpec({ size: 4 * MiB, lastUsable: 8000n, ...change });
      const { reader, stats } = countingReader(memoryReader(spec.size, gptRegions(spec)));
      await partitionDetector.detect(reader, {});
      return stats.ranges;
    };
    const head: [number, number][] = [
      [0, 512],
      [512, 512],
    ];
    assert.deepEqual(await reads({}), [...head, [1024, 128 * 128]]);
    assert.deepEqual(await reads({ entrySize: 384, count: 400 }), [
      ...head,
      [1024, 65280],
      [1024 + 65280, 65280],
      [1024 + 2 * 65280, 400 * 384 - 2 * 65280],
    ]);
    assert.deepEqual(await reads({ count: 1024 }), [...head, [1024, 65536], [1024 + 65536, 65536]]);
    assert.deepEqual(await reads({ entrySize: 128 * 1024, count: 2, entries: [] }), [
      ...head,
      [1024, 128 * 1024],
      [1024 + 128 * 1024, 128 * 1024],
    ]);
  });
});
