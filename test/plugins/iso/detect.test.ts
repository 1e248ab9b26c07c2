import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isoDetector } from "../../../src/plugins/iso/detect.ts";
import type { Detection } from "../../../src/core/inspect/types.ts";
import { memoryReader } from "../../core/inspect/readers.ts";

const SYSTEM_AREA = 0x8000;

/** One 2048-byte volume descriptor: type byte, identifier, version 1. */
function volumeDescriptor(id: string, type = 0, fill: (d: Buffer) => void = () => undefined): Buffer {
  const d = Buffer.alloc(2048);
  d.writeUInt8(type, 0);
  d.write(id, 1, "latin1");
  d.writeUInt8(1, 6);
  fill(d);
  return d;
}

/** A primary volume descriptor of `blocks` blocks of `blockSize` bytes named `name`. */
function primary(blocks: number, name = "DISKPIPE_TEST", blockSize = 2048): Buffer {
  return volumeDescriptor("CD001", 1, (d) => {
    d.write(name.padEnd(32, " "), 40, "latin1");
    d.writeUInt32LE(blocks, 80);
    d.writeUInt32BE(blocks, 84);
    d.writeUInt16LE(blockSize, 128);
    d.writeUInt16BE(blockSize, 130);
  });
}

/** Runs the ISO detector on a file of `size` bytes holding these descriptors after the system area. */
function detect(size: number, descriptors: Buffer[]): Promise<Detection | null> {
  return isoDetector.detect(memoryReader(size, [{ offset: SYSTEM_AREA, bytes: Buffer.concat(descriptors) }]), {});
}

const terminator = () => volumeDescriptor("CD001", 255);

describe("ISO 9660 and UDF detection", () => {
  test("an ISO 9660 volume: its facts, the file's size in whole sectors", async () => {
    const found = await detect(512 * 2048 + 1, [primary(512), terminator()]);
    assert.deepEqual(found, {
      format: "iso",
      variant: "iso9660",
      virtualSize: 512 * 2048 + 512,
      problems: [],
      details: { iso9660: true, udf: false, volumeId: "DISKPIPE_TEST", blockSize: 2048, volumeSize: 512 * 2048 },
    });
  });

  test("a volume larger than the file is truncated, to the byte", async () => {
    const fits = await detect(300 * 512, [primary(75, "V", 2048)]);
    assert.deepEqual(fits?.problems, []);
    const over = await detect(300 * 512 - 1, [primary(75, "V", 2048)]);
    assert.deepEqual(
      over?.problems.map((p) => p.code),
      ["truncated"],
    );
    assert.equal(over?.details?.volumeSize, 300 * 512);
  });

  test("the block size comes from the descriptor", async () => {
    const found = await detect(1 << 20, [primary(100, "SMALL", 512)]);
    assert.deepEqual(found?.details, {
      iso9660: true,
      udf: false,
      volumeId: "SMALL",
      blockSize: 512,
      volumeSize: 51200,
    });
  });

  test("the first primary volume descriptor counts; other CD001 descriptors are not primary", async () => {
    const boot = volumeDescriptor("CD001", 0, (d) => d.writeUInt32LE(0xffffffff, 80));
    const found = await detect(1 << 20, [boot, primary(10, "FIRST"), primary(1 << 20, "SECOND"), terminator()]);
    assert.deepEqual(found?.details, {
      iso9660: true,
      udf: false,
      volumeId: "FIRST",
      blockSize: 2048,
      volumeSize: 20480,
    });
    assert.deepEqual(found?.problems, []);
  });

  test("CD001 without a primary descriptor is still ISO 9660, without volume facts", async () => {
    const found = await detect(1 << 20, [volumeDescriptor("CD001", 2), terminator()]);
    assert.deepEqual(found, {
      format: "iso",
      variant: "iso9660",
      virtualSize: 1 << 20,
      problems: [],
      details: { iso9660: true, udf: false },
    });
  });

  test("UDF: NSR02 or NSR03 in the recognition sequence", async () => {
    for (const nsr of ["NSR02", "NSR03"]) {
      const found = await detect(
        1 << 20,
        ["BEA01", nsr, "TEA01"].map((id) => volumeDescriptor(id)),
      );
      assert.deepEqual(found, {
        format: "iso",
        variant: "udf",
        virtualSize: 1 << 20,
        problems: [],
        details: { iso9660: false, udf: true },
      });
      assert.equal((await detect(1 << 20, [volumeDescriptor(nsr)]))?.variant, "udf");
    }
  });

  test("a UDF bridge disc is ISO 9660 with UDF noted", async () => {
    const found = await detect(1 << 20, [
      primary(10),
      volumeDescriptor("BEA01"),
      volumeDescriptor("NSR03"),
      volumeDescriptor("TEA01"),
    ]);
    assert.equal(found?.variant, "iso9660");
    assert.deepEqual(found?.details, {
      iso9660: true,
      udf: true,
      volumeId: "DISKPIPE_TEST",
      blockSize: 2048,
      volumeSize: 20480,
    });
  });

  test("every known identifier continues the sequence", async () => {
    for (const id of ["BEA01", "TEA01", "BOOT2", "CDW02", "NSR02"]) {
      assert.equal((await detect(1 << 20, [volumeDescriptor(id), volumeDescriptor("NSR03")]))?.variant, "udf", id);
    }
  });

  test("an unknown identifier ends the sequence", async () => {
    assert.equal(await detect(1 << 20, [volumeDescriptor("XXXXX"), primary(10)]), null);
    assert.equal(await detect(1 << 20, [volumeDescriptor("CD00"), primary(10)]), null);
    assert.equal(await detect(1 << 20, [volumeDescriptor("BEA01"), volumeDescriptor("TEA01")]), null);
  });

  test("at most 16 descriptors are read", async () => {
    const fill = (n: number) => Array.from({ length: n }, () => volumeDescriptor("BEA01"));
    assert.equal((await detect(1 << 20, [...fill(15), volumeDescriptor("NSR02")]))?.variant, "udf");
    assert.equal(await detect(1 << 20, [...fill(16), volumeDescriptor("NSR02")]), null);
  });

  test("a file ending inside the system area is not an ISO", async () => {
    assert.equal(await isoDetector.detect(memoryReader(SYSTEM_AREA, []), {}), null);
    assert.equal(
      await isoDetector
        .detect(memoryReader(SYSTEM_AREA + 6, [{ offset: SYSTEM_AREA, bytes: primary(1).subarray(0, 6) }]), {})
        .then((d) => d?.variant),
      "iso9660",
    );
  });
});
