import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { qcowDetector } from "../../../src/core/inspect/qcow.ts";
import { qcow2Detector } from "../../../src/plugins/qcow2/detect.ts";
import { qedDetector } from "../../../src/core/inspect/qed.ts";
import { memoryReader } from "./readers.ts";

/** A qcow (version 1) header: magic, version, and the backing file offset at byte 8. */
function qcowHeader(version: number, backingOffset: bigint, magic = "QFI\xfb"): Uint8Array {
  const b = Buffer.alloc(48);
  b.write(magic, 0, "latin1");
  b.writeUInt32BE(version, 4);
  b.writeBigUInt64BE(backingOffset, 8);
  return b;
}

/** A QED header: magic and the virtual size (little-endian) at byte 48. */
function qedHeader(size: bigint, magic = "QED\0"): Uint8Array {
  const b = Buffer.alloc(64);
  b.write(magic, 0, "latin1");
  b.writeBigUInt64LE(size, 48);
  return b;
}

const unsupported = {
  code: "unsupported-format",
  message: "qcow (version 1) images are not accepted: diskpipe does not convert this format",
};
const banned = {
  code: "qed-banned",
  message: "QED images are not accepted (the format is deprecated and has backing files)",
};

describe("qcow (version 1)", () => {
  test("is refused, and says whether it names a backing file", async () => {
    assert.deepEqual(await qcowDetector.detect(memoryReader(4096, [{ offset: 0, bytes: qcowHeader(1, 0n) }]), {}), {
      format: "qcow",
      problems: [unsupported],
      details: { version: 1, backingFile: false },
    });
    assert.deepEqual(await qcowDetector.detect(memoryReader(4096, [{ offset: 0, bytes: qcowHeader(1, 48n) }]), {}), {
      format: "qcow",
      problems: [unsupported],
      details: { version: 1, backingFile: true },
    });
  });

  test("a header cut after its version is still qcow, without a backing file", async () => {
    const found = await qcowDetector.detect(memoryReader(8, [{ offset: 0, bytes: qcowHeader(1, 48n) }]), {});
    assert.deepEqual(found?.details, { version: 1, backingFile: false });
  });

  test("versions 2 and 3 are qcow2's, version 1 is not qcow2's", async () => {
    for (const version of [0, 2, 3])
      assert.equal(
        await qcowDetector.detect(memoryReader(4096, [{ offset: 0, bytes: qcowHeader(version, 0n) }]), {}),
        null,
      );
    assert.equal(await qcow2Detector.detect(memoryReader(4096, [{ offset: 0, bytes: qcowHeader(1, 0n) }]), {}), null);
  });

  test("another magic with version 1 is not qcow", async () => {
    for (const magic of ["QFI\xfa", "qfi\xfb", "\0\0\0\0"]) {
      assert.equal(
        await qcowDetector.detect(memoryReader(4096, [{ offset: 0, bytes: qcowHeader(1, 0n, magic) }]), {}),
        null,
      );
    }
  });
});

describe("QED", () => {
  test("is refused with its virtual size", async () => {
    assert.deepEqual(await qedDetector.detect(memoryReader(4096, [{ offset: 0, bytes: qedHeader(4194304n) }]), {}), {
      format: "qed",
      virtualSize: 4194304,
      problems: [banned],
    });
  });

  test("a virtual size above 2^53 - 1 is not given, but the image is still refused", async () => {
    const at = async (size: bigint) =>
      qedDetector.detect(memoryReader(4096, [{ offset: 0, bytes: qedHeader(size) }]), {});
    assert.equal((await at(BigInt(Number.MAX_SAFE_INTEGER)))?.virtualSize, Number.MAX_SAFE_INTEGER);
    assert.deepEqual(await at(BigInt(Number.MAX_SAFE_INTEGER) + 2n), {
      format: "qed",
      virtualSize: undefined,
      problems: [banned],
    });
  });

  test("a QED magic in a file too short for the size field is QED of no size", async () => {
    assert.deepEqual(await qedDetector.detect(memoryReader(4, [{ offset: 0, bytes: qedHeader(4096n) }]), {}), {
      format: "qed",
      virtualSize: 0,
      problems: [banned],
    });
  });

  test("anything else is not QED", async () => {
    for (const magic of ["QED\x01", "qed\0", "QFI\xfb"]) {
      assert.equal(
        await qedDetector.detect(memoryReader(4096, [{ offset: 0, bytes: qedHeader(4096n, magic) }]), {}),
        null,
      );
    }
    assert.equal(await qedDetector.detect(memoryReader(3, [{ offset: 0, bytes: qedHeader(4096n) }]), {}), null);
  });
});
