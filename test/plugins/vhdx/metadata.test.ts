import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { vhdxDetector } from "../../../src/plugins/vhdx/detect.ts";
import { countingReader } from "../../core/inspect/readers.ts";
import { clean, corrupt, detect, GUID, KiB, METADATA_AT, MiB, VhdxImage } from "./vhdx-image.ts";

const FOUR_MIB = clean(4 * MiB);
const TiB = 2 ** 40;

describe("VHDX metadata table", () => {
  test("the table must be whole and signed", async () => {
    const image = new VhdxImage();
    image.fileSize = METADATA_AT + 64 * KiB - 1;
    assert.deepEqual((await detect(image)).found, corrupt("metadata table is invalid"));
    image.fileSize = METADATA_AT + 64 * KiB;
    assert.deepEqual((await detect(image)).found, corrupt("metadata item fileParameters is missing"));
    const signature = new VhdxImage();
    signature.metadataSignature = "metadatA";
    assert.deepEqual((await detect(signature)).found, corrupt("metadata table is invalid"));
  });

  test("2047 entries are read, 2048 refused", async () => {
    const image = new VhdxImage();
    while (image.items.length < 2047) image.items.push({ guid: GUID.other, offset: 0, length: 0, flags: 0 });
    assert.deepEqual((await detect(image)).found, FOUR_MIB);
    image.itemCount = 2048;
    assert.deepEqual((await detect(image)).found, corrupt("metadata table has 2048 entries"));
  });

  test("entries past the count are not read", async () => {
    const image = new VhdxImage();
    image.items.push({ guid: GUID.other, offset: 0, length: 0, flags: 4 });
    image.itemCount = 5;
    assert.deepEqual((await detect(image)).found, FOUR_MIB);
  });

  test("an unknown item is refused only when marked required (bit 2), wherever it points", async () => {
    for (const [flags, refused] of [
      [0, false],
      [3, false],
      [0xfffffffb, false],
      [4, true],
      [7, true],
    ] as const) {
      const image = new VhdxImage();
      image.items.push({ guid: GUID.other, offset: 0, length: 0xffffffff, flags });
      const expected = refused ? corrupt("unknown required metadata item 67452301ab89efcd0123456789abcdef") : FOUR_MIB;
      assert.deepEqual((await detect(image)).found, expected, `flags ${flags}`);
    }
  });

  test("a known item may appear once", async () => {
    const image = new VhdxImage();
    image.items.push({ guid: GUID.page83, offset: 128 * KiB, length: 16, flags: 0, value: new Uint8Array(16) });
    assert.deepEqual((await detect(image)).found, corrupt("metadata item page83 appears twice"));
    const locator = new VhdxImage();
    locator.items.push({ guid: GUID.parentLocator, offset: 128 * KiB, length: 64, flags: 0 });
    assert.deepEqual((await detect(locator)).found, FOUR_MIB);
    locator.items.push({ guid: GUID.parentLocator, offset: 128 * KiB, length: 64, flags: 0 });
    assert.deepEqual((await detect(locator)).found, corrupt("metadata item parentLocator appears twice"));
  });

  test("an item lies after the table and inside the metadata region, to its last byte", async () => {
    const image = new VhdxImage();
    const size = image.item(GUID.virtualDiskSize);
    size.offset = MiB - 8;
    assert.deepEqual((await detect(image)).found, FOUR_MIB);
    size.offset = MiB - 7;
    assert.deepEqual((await detect(image)).found, corrupt("metadata item virtualDiskSize lies outside its region"));
    const early = new VhdxImage();
    const page83 = early.item(GUID.page83);
    page83.offset = 64 * KiB - 1;
    assert.deepEqual((await detect(early)).found, corrupt("metadata item page83 lies outside its region"));
    page83.offset = 0xffffffff;
    page83.length = 0xffffffff;
    assert.deepEqual((await detect(early)).found, corrupt("metadata item page83 lies outside its region"));
  });

  test("an item is read at its offset for its length, at most 64 bytes", async () => {
    const image = new VhdxImage();
    image.item(GUID.page83).length = 4096;
    const { reader, stats } = countingReader(image.reader());
    assert.deepEqual(await vhdxDetector.detect(reader, {}), FOUR_MIB);
    const itemReads = stats.ranges.filter(([offset]) => offset >= METADATA_AT + 64 * KiB && offset < METADATA_AT + MiB);
    assert.deepEqual(itemReads, [
      [METADATA_AT + 64 * KiB, 8],
      [METADATA_AT + 64 * KiB + 0x100, 8],
      [METADATA_AT + 64 * KiB + 0x200, 64],
      [METADATA_AT + 64 * KiB + 0x300, 4],
      [METADATA_AT + 64 * KiB + 0x400, 4],
    ]);
  });

  test("each required item must be there and long enough; the minimum length is accepted", async () => {
    const minimum = {
      fileParameters: 4,
      virtualDiskSize: 8,
      page83: 16,
      logicalSectorSize: 4,
      physicalSectorSize: 4,
    } as const;
    for (const [name, length] of Object.entries(minimum)) {
      const short = new VhdxImage();
      short.item(GUID[name as keyof typeof minimum]).length = length - 1;
      assert.deepEqual(
        (await detect(short)).found,
        corrupt(`metadata item ${name} is missing`),
        `${name} of ${length - 1}`,
      );
      const exact = new VhdxImage();
      exact.item(GUID[name as keyof typeof minimum]).length = length;
      assert.deepEqual((await detect(exact)).found, FOUR_MIB, `${name} of ${length}`);
      const missing = new VhdxImage();
      missing.items = missing.items.filter((i) => i.guid !== GUID[name as keyof typeof minimum]);
      assert.deepEqual((await detect(missing)).found, corrupt(`metadata item ${name} is missing`), `${name} missing`);
    }
  });

  test("file parameters of 4 bytes carry no flags: the disk reads as dynamic", async () => {
    const image = new VhdxImage({ fileFlags: 2 });
    image.item(GUID.fileParameters).length = 4;
    assert.deepEqual((await detect(image)).found, FOUR_MIB);
  });
});

describe("VHDX metadata values", () => {
  test("the variant: bit 1 is a parent (vhdx-differencing), else bit 0 leaves blocks allocated (fixed)", async () => {
    assert.deepEqual((await detect(new VhdxImage({ fileFlags: 1 }))).found, clean(4 * MiB, "fixed"));
    assert.deepEqual((await detect(new VhdxImage({ fileFlags: 4 }))).found, FOUR_MIB);
    for (const fileFlags of [2, 3]) {
      const image = new VhdxImage({ fileFlags });
      // The BAT region lies past this end: a differencing disk is refused before that is checked.
      image.fileSize = METADATA_AT + 128 * KiB;
      const { found, headers } = await detect(image);
      const parent = {
        code: "vhdx-differencing",
        message: "VHDX is a differencing disk: its data depends on a parent file",
      };
      assert.deepEqual(found, { ...clean(4 * MiB, "differencing"), problems: [parent] }, `flags ${fileFlags}`);
      assert.equal(headers.length, 1);
    }
  });

  test("block sizes: powers of two from 1 MiB to 256 MiB", async () => {
    for (const blockSize of [MiB, 256 * MiB])
      assert.deepEqual((await detect(new VhdxImage({ blockSize }))).found, clean(4 * MiB, "dynamic", blockSize));
    for (const blockSize of [0, MiB / 2, 3 * MiB, 512 * MiB, MiB + 1]) {
      assert.deepEqual(
        (await detect(new VhdxImage({ blockSize }))).found,
        corrupt(`block size ${blockSize} is invalid`),
        `${blockSize}`,
      );
    }
  });

  test("sector sizes: logical 512 only, physical 512 or 4096", async () => {
    const physical4k = await detect(new VhdxImage({ physical: 4096 }));
    assert.deepEqual(physical4k.found, {
      ...FOUR_MIB,
      details: { blockSize: MiB, logicalSectorSize: 512, physicalSectorSize: 4096 },
    });
    for (const physical of [0, 1024, 8192]) {
      assert.deepEqual(
        (await detect(new VhdxImage({ physical }))).found,
        corrupt(`physical sector size ${physical} is invalid`),
      );
    }
    assert.deepEqual(
      (await detect(new VhdxImage({ logical: 4096 }))).found,
      corrupt("logical sector size 4096 is not 512 (the only one qemu-img reads)"),
    );
  });

  test("every finding is told at once", async () => {
    const image = new VhdxImage({ blockSize: 3 * MiB, logical: 4096, physical: 1, virtualDiskSize: 0n });
    const why = [
      "block size 3145728 is invalid",
      "logical sector size 4096 is not 512 (the only one qemu-img reads)",
      "physical sector size 1 is invalid",
      "virtual disk size is 0",
    ];
    assert.deepEqual((await detect(image)).found, corrupt(why.join("; ")));
  });

  test("virtual disk size: 1 byte up to 64 TiB", async () => {
    assert.deepEqual((await detect(new VhdxImage({ virtualDiskSize: 0n }))).found, corrupt("virtual disk size is 0"));
    const top = new VhdxImage({ blockSize: 256 * MiB, virtualDiskSize: BigInt(64 * TiB) });
    top.regions[0] = { guid: GUID.bat, offset: 3 * MiB, length: 3 * MiB, required: 1 };
    assert.deepEqual((await detect(top)).found, clean(64 * TiB, "dynamic", 256 * MiB));
    const over = new VhdxImage({ blockSize: 256 * MiB, virtualDiskSize: BigInt(64 * TiB) + 1n });
    over.regions[0] = { guid: GUID.bat, offset: 3 * MiB, length: 3 * MiB, required: 1 };
    assert.deepEqual((await detect(over)).found, corrupt("virtual disk size is above 64 TiB"));
  });

  test("the virtual size is rounded down to 512 bytes; the declared size is kept when it differs", async () => {
    const { found, headers } = await detect(new VhdxImage({ virtualDiskSize: BigInt(4 * MiB + 1000) }));
    const details = { blockSize: MiB, logicalSectorSize: 512, physicalSectorSize: 512, declaredSize: 4 * MiB + 1000 };
    assert.deepEqual(found, { ...FOUR_MIB, virtualSize: 4 * MiB + 512, details });
    assert.deepEqual(headers, [
      { format: "vhdx", virtualSize: 4 * MiB + 512, details: { ...details, logLength: MiB } },
    ]);
    assert.deepEqual(
      (await detect(new VhdxImage({ virtualDiskSize: BigInt(4 * MiB + 512) }))).found,
      clean(4 * MiB + 512),
    );
    assert.deepEqual((await detect(new VhdxImage({ virtualDiskSize: 1n }))).found, {
      ...clean(0),
      details: { ...clean(0).details, declaredSize: 1 },
    });
  });

  test("a dynamic disk's BAT holds a block entry per block and a bitmap entry after every 4096", async () => {
    // 131041 blocks need 131041 + 31 bitmap entries: exactly the 131072 entries of 1 MiB.
    const fits = await detect(new VhdxImage({ virtualDiskSize: 131041n * BigInt(MiB) }));
    assert.deepEqual(fits.found, clean(131041 * MiB));
    const tooMany = await detect(new VhdxImage({ virtualDiskSize: 131041n * BigInt(MiB) + 1n }));
    assert.deepEqual(tooMany.found, corrupt("the BAT region is too small for the disk"));
  });

  test("a differencing disk's BAT holds whole chunks of 4096 blocks and their bitmap entry", async () => {
    // 31 chunks of 4097 entries fit in 131072; a 32nd does not.
    const parent = {
      code: "vhdx-differencing",
      message: "VHDX is a differencing disk: its data depends on a parent file",
    };
    const fits = await detect(new VhdxImage({ fileFlags: 2, virtualDiskSize: 31n * 4096n * BigInt(MiB) }));
    assert.deepEqual(fits.found, { ...clean(31 * 4096 * MiB, "differencing"), problems: [parent] });
    const tooMany = await detect(new VhdxImage({ fileFlags: 2, virtualDiskSize: 31n * 4096n * BigInt(MiB) + 1n }));
    assert.deepEqual(tooMany.found, corrupt("the BAT region is too small for the disk"));
  });

  test("256 MiB blocks make chunks of 16 blocks, for dynamic and differencing disks alike", async () => {
    const block = 256n * BigInt(MiB);
    const parent = {
      code: "vhdx-differencing",
      message: "VHDX is a differencing disk: its data depends on a parent file",
    };
    // Dynamic: 123362 blocks + 7710 bitmap entries = 131072. Differencing: 7710 chunks of 17 entries = 131070.
    for (const [fileFlags, blocks, variant] of [
      [0, 123362n, "dynamic"],
      [2, 123360n, "differencing"],
    ] as const) {
      const fits = await detect(new VhdxImage({ fileFlags, blockSize: 256 * MiB, virtualDiskSize: blocks * block }));
      const problems = fileFlags === 2 ? [parent] : [];
      assert.deepEqual(fits.found, { ...clean(Number(blocks * block), variant, 256 * MiB), problems }, variant);
      const over = await detect(
        new VhdxImage({ fileFlags, blockSize: 256 * MiB, virtualDiskSize: blocks * block + 1n }),
      );
      assert.deepEqual(over.found, corrupt("the BAT region is too small for the disk"), variant);
    }
  });
});
