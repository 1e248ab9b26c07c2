import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { detectPartition, mbr, type MbrPart } from "./partition-image.ts";

const MiB = 1024 * 1024;
const outside = (sectors: number, list: string) => ({
  code: "partition-table",
  message: `MBR partitions end past the end of the disk (${sectors} sectors): ${list}`,
});

/** The detector's answer for a disk of `size` bytes whose first sector is `first`. */
const detect = (first: Uint8Array, size = MiB) => detectPartition(size, [{ offset: 0, bytes: first }]);

/** A volume boot record: a jump, an OEM name and a BIOS parameter block, ending in 0x55AA. */
function bootSector(
  change: {
    jump?: number[];
    oem?: string;
    bytesPerSector?: number;
    sectorsPerCluster?: number;
    reserved?: number;
    fats?: number;
  } = {},
): Buffer {
  const sector = mbr([]);
  Buffer.from(change.jump ?? [0xeb, 0x3c, 0x90]).copy(sector, 0);
  sector.write(change.oem ?? "MSDOS5.0", 3, "latin1");
  sector.writeUInt16LE(change.bytesPerSector ?? 512, 11);
  sector.writeUInt8(change.sectorsPerCluster ?? 8, 13);
  sector.writeUInt16LE(change.reserved ?? 1, 14);
  sector.writeUInt8(change.fats ?? 2, 16);
  return sector;
}

describe("MBR", () => {
  test("partitions inside the disk: their count and types", async () => {
    const parts: MbrPart[] = [
      { status: 0x80, type: 0x83, start: 2048, sectors: 1024 },
      { type: 0, start: 0, sectors: 0 },
      { type: 0x07, start: 3072, sectors: 1024 },
    ];
    assert.deepEqual(await detect(mbr(parts), 4096 * 512), {
      format: "raw",
      variant: "mbr",
      virtualSize: 4096 * 512,
      problems: [],
      details: { partitions: 2, types: [0x83, 0x07] },
    });
  });

  test("an empty table is still an MBR, and the size is rounded up to whole sectors", async () => {
    const found = await detect(mbr([]), 1000);
    assert.deepEqual(
      [found?.variant, found?.virtualSize, found?.problems, found?.details],
      ["mbr", 1024, [], { partitions: 0, types: [] }],
    );
  });

  test("a partition may end at the last whole sector; one more is past the end", async () => {
    const size = 4096 * 512 + 511;
    assert.deepEqual((await detect(mbr([{ type: 0x83, start: 2048, sectors: 2048 }]), size))?.problems, []);
    assert.deepEqual((await detect(mbr([{ type: 0x83, start: 2048, sectors: 2049 }]), size))?.problems, [
      outside(4096, "type 0x83 at 2048+2049"),
    ]);
    assert.deepEqual((await detect(mbr([{ type: 0xc, start: 4096, sectors: 1 }]), size))?.problems, [
      outside(4096, "type 0xc at 4096+1"),
    ]);
  });

  test("empty entries (type 0 or no sectors) are not checked; at most three are named", async () => {
    const size = 2048 * 512;
    assert.deepEqual(
      (
        await detect(
          mbr([
            { type: 0, start: 9999, sectors: 9999 },
            { type: 0x83, start: 9999, sectors: 0 },
          ]),
          size,
        )
      )?.problems,
      [],
    );
    const four = [1, 2, 3, 4].map((type) => ({ type, start: 2000, sectors: 49 + type }));
    assert.deepEqual((await detect(mbr(four), size))?.problems, [
      outside(2048, "type 0x1 at 2000+50, type 0x2 at 2000+51, type 0x3 at 2000+52"),
    ]);
  });

  test("any status but 0 and 0x80 means this is not a partition table", async () => {
    for (const status of [0x01, 0x7f, 0x81, 0xff]) {
      assert.equal(
        await detect(
          mbr([
            { type: 0x83, start: 2048, sectors: 8 },
            { status, type: 0x83, start: 4096, sectors: 8 },
          ]),
        ),
        null,
        String(status),
      );
    }
    assert.equal(
      (
        await detect(
          mbr([
            { status: 0, type: 0x83, start: 2048, sectors: 8 },
            { status: 0x80, type: 0, start: 0, sectors: 0 },
          ]),
        )
      )?.variant,
      "mbr",
    );
  });

  test("without 0x55AA at bytes 510-511, or shorter than a sector, there is no table", async () => {
    const table = mbr([{ type: 0x83, start: 1, sectors: 1 }]);
    assert.equal(await detect(Buffer.concat([table.subarray(0, 510), Buffer.from([0x55, 0xab])])), null);
    assert.equal(await detect(Buffer.concat([table.subarray(0, 510), Buffer.from([0x54, 0xaa])])), null);
    assert.equal(await detect(table, 511), null);
    assert.equal((await detect(table, 512))?.variant, "mbr");
  });
});

describe("boot sectors are filesystems, not partition tables", () => {
  test("NTFS and exFAT by their OEM name, after either jump", async () => {
    assert.equal(await detect(bootSector({ oem: "NTFS    ", bytesPerSector: 0, fats: 0 })), null);
    assert.equal(await detect(bootSector({ jump: [0xe9, 0, 0], oem: "EXFAT   ", bytesPerSector: 0, fats: 0 })), null);
    assert.equal((await detect(bootSector({ jump: [0xeb, 0x3c, 0x91], oem: "NTFS    " })))?.variant, "mbr");
    assert.equal((await detect(bootSector({ jump: [0xea, 0x3c, 0x90], oem: "NTFS    " })))?.variant, "mbr");
    assert.equal((await detect(bootSector({ oem: "NTFS   x", bytesPerSector: 0 })))?.variant, "mbr");
  });

  test("FAT by a sound parameter block: sector size, power-of-two cluster, reserved sectors, one or two FATs", async () => {
    for (const bytesPerSector of [512, 1024, 2048, 4096])
      assert.equal(await detect(bootSector({ bytesPerSector })), null, String(bytesPerSector));
    for (const sectorsPerCluster of [1, 2, 64, 128])
      assert.equal(await detect(bootSector({ sectorsPerCluster })), null, String(sectorsPerCluster));
    assert.equal(await detect(bootSector({ fats: 1, reserved: 32 })), null);
    assert.equal(await detect(bootSector({ jump: [0xe9, 0x10, 0x00] })), null);
    const notBoot = [
      { bytesPerSector: 256 },
      { bytesPerSector: 8192 },
      { sectorsPerCluster: 0 },
      { sectorsPerCluster: 3 },
      { sectorsPerCluster: 6 },
      { reserved: 0 },
      { fats: 0 },
      { fats: 3 },
    ];
    for (const change of notBoot)
      assert.equal((await detect(bootSector(change)))?.variant, "mbr", JSON.stringify(change));
  });
});
