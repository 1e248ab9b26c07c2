import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  BAT_AT,
  clean,
  corrupt,
  detect,
  GUID,
  headerFields,
  KiB,
  LOG_AT,
  MiB,
  REGION_TABLE_AT,
  VhdxImage,
} from "./vhdx-image.ts";

const FOUR_MIB = clean(4 * MiB);

describe("VHDX region table", () => {
  test("the table must be whole, signed and checksummed", async () => {
    const image = new VhdxImage();
    image.fileSize = REGION_TABLE_AT + 64 * KiB - 1;
    assert.deepEqual((await detect(image)).found, corrupt("region table is invalid"));
    image.fileSize = REGION_TABLE_AT + 64 * KiB;
    assert.deepEqual((await detect(image)).found, corrupt("metadata table is invalid"));
    image.fileSize = REGION_TABLE_AT + 64 * KiB - 1;
    image.regionChecksumOver = 64 * KiB - 1;
    assert.deepEqual((await detect(image)).found, corrupt("region table is invalid"), "with a CRC of what is there");
    const signature = new VhdxImage();
    signature.regionSignature = "regI";
    assert.deepEqual((await detect(signature)).found, corrupt("region table is invalid"));
    const checksum = new VhdxImage();
    checksum.regionChecksum = false;
    assert.deepEqual((await detect(checksum)).found, corrupt("region table is invalid"));
  });

  test("2047 entries are read, 2048 refused", async () => {
    const image = new VhdxImage();
    for (let i = 0; image.regions.length < 2047; i++)
      image.regions.push({ guid: GUID.other, offset: (8 + i) * MiB, length: MiB, required: 0 });
    assert.deepEqual((await detect(image)).found, FOUR_MIB);
    image.regionCount = 2048;
    assert.deepEqual((await detect(image)).found, corrupt("region table has 2048 entries"));
  });

  test("a region must start at 1 MiB or later on a whole MiB, span whole MiB, and end at a safe integer", async () => {
    const top = 2 ** 53;
    for (const [offset, length] of [
      [0, MiB],
      [MiB / 2, MiB],
      [8 * MiB + 4096, MiB],
      [8 * MiB, 0],
      [8 * MiB, MiB / 2],
      [top - MiB, MiB],
    ] as const) {
      const image = new VhdxImage();
      image.regions.push({ guid: GUID.other, offset, length, required: 0 });
      assert.deepEqual((await detect(image)).found, corrupt("a region is misplaced"), `${offset}+${length}`);
    }
    const far = new VhdxImage();
    far.regions.push({ guid: GUID.other, offset: top - 2 * MiB, length: MiB, required: 0 });
    assert.deepEqual((await detect(far)).found, FOUR_MIB);
  });

  test("regions may touch but not overlap each other or the log", async () => {
    const after = new VhdxImage();
    after.regions.push({ guid: GUID.other, offset: BAT_AT + MiB, length: MiB, required: 0 });
    assert.deepEqual((await detect(after)).found, FOUR_MIB);
    for (const [offset, length] of [
      [BAT_AT, MiB],
      [BAT_AT, 2 * MiB],
      [LOG_AT, 3 * MiB],
      [LOG_AT, MiB],
    ] as const) {
      const image = new VhdxImage();
      image.regions.push({ guid: GUID.other, offset, length, required: 0 });
      assert.deepEqual((await detect(image)).found, corrupt("regions overlap"), `${offset}+${length}`);
    }
  });

  test("with an empty log, a region may sit where the log would be, up to the metadata", async () => {
    const image = new VhdxImage();
    image.headers = [{ ...headerFields(1n), logLength: 0 }, undefined];
    image.regions.push({ guid: GUID.other, offset: LOG_AT, length: MiB, required: 0 });
    assert.deepEqual((await detect(image)).found, FOUR_MIB);
    image.regions[2] = { guid: GUID.other, offset: LOG_AT, length: 2 * MiB, required: 0 };
    assert.deepEqual((await detect(image)).found, corrupt("regions overlap"));
  });

  test("an empty log takes no room, even inside a region", async () => {
    const image = new VhdxImage();
    image.headers = [{ ...headerFields(1n), logOffset: 16 * MiB, logLength: 0 }, undefined];
    image.regions.push({ guid: GUID.other, offset: 15 * MiB, length: 2 * MiB, required: 0 });
    assert.deepEqual((await detect(image)).found, FOUR_MIB);
  });

  test("the BAT and metadata regions must each appear once", async () => {
    for (const name of ["bat", "metadata"] as const) {
      const twice = new VhdxImage();
      twice.regions.push({ guid: GUID[name], offset: 8 * MiB, length: MiB, required: 0 });
      assert.deepEqual((await detect(twice)).found, corrupt(`the ${name} region appears twice`));
      const missing = new VhdxImage();
      missing.regions = missing.regions.filter((r) => r.guid !== GUID[name]);
      assert.deepEqual((await detect(missing)).found, corrupt("the BAT or metadata region is missing"));
    }
  });

  test("an unknown region is refused only when marked required (bit 0)", async () => {
    for (const [required, refused] of [
      [0, false],
      [2, false],
      [1, true],
      [3, true],
      [0xfffffffe, false],
    ] as const) {
      const image = new VhdxImage();
      image.regions.push({ guid: GUID.other, offset: 8 * MiB, length: MiB, required });
      const expected = refused ? corrupt("an unknown required region 67452301ab89efcd0123456789abcdef") : FOUR_MIB;
      assert.deepEqual((await detect(image)).found, expected, `required ${required}`);
    }
  });

  test("known regions need not be marked required", async () => {
    const image = new VhdxImage();
    for (const r of image.regions) r.required = 0;
    assert.deepEqual((await detect(image)).found, FOUR_MIB);
  });
});
