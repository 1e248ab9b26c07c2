import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { crc32c } from "../../../src/core/inspect/crc.ts";
import { vhdxDetector } from "../../../src/plugins/vhdx/detect.ts";
import { memoryReader } from "../../core/inspect/readers.ts";
import {
  clean,
  corrupt,
  detect,
  HEADER_AT,
  headerFields,
  KiB,
  le,
  LOG_AT,
  MiB,
  VhdxImage,
  type HeaderFields,
} from "./vhdx-image.ts";

const FOUR_MIB = clean(4 * MiB);

describe("VHDX file identifier", () => {
  test("the built image is a clean dynamic disk, and onHeader hears the log length too", async () => {
    const { found, headers } = await detect(new VhdxImage());
    assert.deepEqual(found, FOUR_MIB);
    assert.deepEqual(headers, [
      {
        format: "vhdx",
        virtualSize: 4 * MiB,
        details: { blockSize: MiB, logicalSectorSize: 512, physicalSectorSize: 512, logLength: MiB },
      },
    ]);
  });

  test("anything but vhdxfile at offset 0 is not VHDX", async () => {
    const image = new VhdxImage();
    image.fileId = "vhdxfilE";
    assert.equal((await detect(image)).found, null);
    assert.equal(
      await vhdxDetector.detect(
        memoryReader(7, [{ offset: 0, bytes: Uint8Array.from("vhdxfil", (c) => c.charCodeAt(0)) }]),
        {},
      ),
      null,
    );
  });
});

describe("VHDX read errors", () => {
  test("a failing read is not a corrupt image: the error is the caller's", async () => {
    const image = new VhdxImage().reader();
    const failing = {
      ...image,
      read: (offset: number, length: number) =>
        offset < 64 * KiB ? image.read(offset, length) : Promise.reject(new Error("EIO")),
    };
    await assert.rejects(vhdxDetector.detect(failing, {}), { message: "EIO" });
  });
});

describe("VHDX headers", () => {
  test("either header alone is enough", async () => {
    for (const which of [0, 1]) {
      const image = new VhdxImage();
      image.headers[which] = undefined;
      assert.deepEqual((await detect(image)).found, FOUR_MIB, `header ${which} missing`);
    }
  });

  test("a header with a wrong signature, checksum or version does not count", async () => {
    const spoil = [
      (h: HeaderFields) => (h.signature = "heaD"),
      (h: HeaderFields) => (h.checksum = false),
      (h: HeaderFields) => (h.version = 0),
      (h: HeaderFields) => (h.version = 2),
    ];
    for (const [index, edit] of spoil.entries()) {
      const image = new VhdxImage();
      image.headers[1] = undefined;
      const only = image.headers[0] ?? headerFields(1n);
      edit(only);
      const { found, headers } = await detect(image);
      assert.deepEqual(found, corrupt("no valid header"), `spoiled ${index}`);
      assert.deepEqual(headers, []);
      image.headers[1] = headerFields(0n);
      assert.deepEqual((await detect(image)).found, FOUR_MIB, `spoiled ${index}, the other valid`);
    }
  });

  test("a header cut short by the end of the file does not count, even with a CRC of what is there", async () => {
    const image = new VhdxImage();
    image.headers[0] = undefined;
    const second = headerFields(0n);
    second.checksum = false;
    second.edit = (bytes) => bytes.set(le(crc32c(bytes.subarray(0, 4 * KiB - 1)), 4), 4);
    image.headers[1] = second;
    image.fileSize = HEADER_AT[1] + 4 * KiB - 1;
    assert.deepEqual((await detect(image)).found, corrupt("no valid header"));
  });

  test("the valid header with the higher sequence number is used, wherever it is", async () => {
    for (const newer of [0, 1]) {
      const image = new VhdxImage();
      const older = headerFields(5n);
      const current = headerFields(6n);
      current.logLength = 0;
      image.headers[newer] = current;
      image.headers[1 - newer] = older;
      const { found, headers } = await detect(image);
      assert.deepEqual(found, FOUR_MIB);
      assert.equal(headers[0]?.details.logLength, 0, `newer header at ${newer}`);
    }
  });

  test("a valid header wins over a spoiled one with a higher sequence number", async () => {
    const image = new VhdxImage();
    image.headers[0] = { ...headerFields(9n), logLength: 0, version: 2 };
    const { headers } = await detect(image);
    assert.equal(headers[0]?.details.logLength, MiB);
  });

  test("equal sequence numbers are fine on identical headers, corrupt on different ones", async () => {
    const image = new VhdxImage();
    image.headers = [headerFields(3n), headerFields(3n)];
    assert.deepEqual((await detect(image)).found, FOUR_MIB);
    image.headers[1] = { ...headerFields(3n), edit: (bytes) => (bytes[4 * KiB - 1] = 1) };
    assert.deepEqual((await detect(image)).found, corrupt("two different headers have the same sequence number"));
  });
});

describe("VHDX log", () => {
  /** An image whose two headers place the log at `offset` for `length` bytes, with `version`. */
  function withLog(offset: number | bigint, length: number, version = 0): VhdxImage {
    const image = new VhdxImage();
    image.headers = [
      { ...headerFields(1n), logOffset: offset, logLength: length, logVersion: version },
      { ...headerFields(0n), logOffset: offset, logLength: length, logVersion: version },
    ];
    return image;
  }

  test("the log must start at 1 MiB or later, on a whole MiB, and span whole MiB", async () => {
    for (const [offset, length] of [
      [0, MiB],
      [0, 0],
      [MiB + 512 * KiB, MiB],
      [LOG_AT, 512 * KiB],
      [LOG_AT, MiB + 1],
    ] as const) {
      assert.deepEqual(
        (await detect(withLog(offset, length))).found,
        corrupt("the log is misplaced"),
        `${offset}+${length}`,
      );
    }
    assert.deepEqual((await detect(withLog(LOG_AT, 0))).found, FOUR_MIB);
  });

  test("the log must end at a safe integer", async () => {
    const top = 2 ** 53;
    assert.deepEqual((await detect(withLog(top - MiB, MiB))).found, corrupt("the log is misplaced"));
    assert.deepEqual((await detect(withLog(top - 2 * MiB, MiB))).found, FOUR_MIB);
    assert.deepEqual((await detect(withLog(2n ** 64n - BigInt(MiB), 0))).found, corrupt("the log is misplaced"));
  });

  test("log version 0 alone is accepted", async () => {
    assert.deepEqual((await detect(withLog(LOG_AT, MiB, 1))).found, corrupt("log version 1 is not 0"));
  });

  test("a log GUID with a log to replay is vhdx-log, and nothing past it is checked", async () => {
    for (const at of [0, 15]) {
      const image = new VhdxImage();
      for (const h of image.headers) if (h) h.logGuid[at] = 0x33;
      image.bat.set(0, BigInt(64 * MiB) | 6n);
      const { found } = await detect(image);
      assert.deepEqual(
        found?.problems,
        [{ code: "vhdx-log", message: "VHDX has a log to replay, which needs write access to the image" }],
        `byte ${at}`,
      );
      assert.equal(found?.variant, "dynamic");
      assert.equal(found?.virtualSize, 4 * MiB);
    }
  });

  test("a log GUID with an empty log, or a data write GUID, is no log to replay", async () => {
    const empty = withLog(LOG_AT, 0);
    for (const h of empty.headers) if (h) h.logGuid[0] = 1;
    assert.deepEqual((await detect(empty)).found, FOUR_MIB);
    const dataWrite = new VhdxImage();
    for (const h of dataWrite.headers) if (h) h.edit = (bytes) => (bytes[47] = 1);
    assert.deepEqual((await detect(dataWrite)).found, FOUR_MIB);
  });
});
