import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { vhdDetector } from "../../../src/plugins/vhd/detect.ts";
import { memoryReader } from "../../core/inspect/readers.ts";
import { detectVhd, footerBytes, footerFields, MiB, VhdImage, type FooterFields } from "./vhd-image.ts";

const UUID = "0102030405060708090a0b0c0d0e0f10";
const CHECKSUM = { code: "vhd-checksum", message: "VHD footer has a wrong checksum" };
const HEAD_CHECKSUM = { code: "vhd-checksum", message: "VHD footer copy at offset 0 has a wrong checksum" };
const corrupt = (why: string) => ({ code: "vhd-corrupt-header", message: `VHD footer is corrupt: ${why}` });

/** The details of a qemu-made footer of `size` bytes and `diskType`. */
function footerDetails(diskType: string | number, size = 4 * MiB) {
  return { diskType, creator: "qem2", sizeRule: "current-size", currentSize: size, uuid: UUID };
}

describe("VHD footer placement", () => {
  test("a fixed disk: the footer at the end", async () => {
    assert.deepEqual(await detectVhd(new VhdImage(2)), {
      format: "vhd",
      variant: "fixed",
      virtualSize: 4 * MiB,
      problems: [],
      details: footerDetails("fixed"),
    });
  });

  test("a dynamic disk: both copies, the dynamic header's facts in the details", async () => {
    const details = { ...footerDetails("dynamic"), blockSize: 2 * MiB, batEntries: 2 };
    assert.deepEqual(await detectVhd(new VhdImage(3)), {
      format: "vhd",
      variant: "dynamic",
      virtualSize: 4 * MiB,
      problems: [],
      details,
    });
  });

  test("no cookie at either end is not VHD", async () => {
    const image = new VhdImage(3);
    image.footers((f) => (f.cookie = "conectiX"));
    assert.equal(await detectVhd(image), null);
  });

  test("a file shorter than a footer is VHD only with the cookie at 0, and then truncated", async () => {
    const cookie = Uint8Array.from("conectix", (c) => c.charCodeAt(0));
    const found = await vhdDetector.detect(memoryReader(511, [{ offset: 0, bytes: cookie }]), {});
    assert.deepEqual(found, {
      format: "vhd",
      problems: [{ code: "truncated", message: "VHD is truncated: the file is shorter than a footer" }],
    });
    assert.equal(await vhdDetector.detect(memoryReader(511, [{ offset: 1, bytes: cookie }]), {}), null);
    assert.equal(await vhdDetector.detect(memoryReader(0, []), {}), null);
  });

  test("a 512-byte file that is only a footer is a fixed disk of nothing but its footer", async () => {
    const found = await vhdDetector.detect(
      memoryReader(512, [{ offset: 0, bytes: footerBytes(footerFields(2, 0)) }]),
      {},
    );
    assert.deepEqual(found?.problems, [corrupt("a fixed disk has a footer copy at offset 0")]);
    assert.equal(found?.virtualSize, 0);
  });

  test("a dynamic disk without the footer at the end is truncated", async () => {
    const image = new VhdImage(3);
    image.tail = undefined;
    const found = await detectVhd(image);
    assert.deepEqual(found?.problems, [
      { code: "truncated", message: "VHD is truncated: the footer at the end is missing" },
    ]);
    assert.deepEqual(found?.details, footerDetails("dynamic"));
  });

  test("a dynamic disk needs its copy at 0, a fixed disk must not have one", async () => {
    const dynamic = new VhdImage(3);
    dynamic.head = undefined;
    assert.deepEqual((await detectVhd(dynamic))?.problems, [corrupt("a dynamic disk has no footer copy at offset 0")]);
    const differencing = new VhdImage(4);
    differencing.head = undefined;
    assert.deepEqual((await detectVhd(differencing, true))?.problems, [
      corrupt("a differencing disk has no footer copy at offset 0"),
    ]);
    const fixed = new VhdImage(2);
    fixed.head = footerFields(2, 4 * MiB);
    const found = await detectVhd(fixed);
    assert.deepEqual(found?.problems, [corrupt("a fixed disk has a footer copy at offset 0")]);
    assert.equal(found?.variant, "fixed");
  });

  test("the copy at 0 is the one read", async () => {
    const image = new VhdImage(3);
    if (image.tail) image.tail.type = 9;
    const found = await detectVhd(image);
    assert.equal(found?.variant, "dynamic");
    assert.deepEqual(found?.problems, [corrupt("the two footer copies differ")]);
  });
});

describe("VHD footer checks", () => {
  test("a wrong checksum on either copy is vhd-checksum", async () => {
    const head = new VhdImage(3);
    if (head.head) head.head.checksum = false;
    assert.deepEqual((await detectVhd(head))?.problems, [HEAD_CHECKSUM]);
    const tail = new VhdImage(3);
    if (tail.tail) tail.tail.checksum = false;
    assert.deepEqual((await detectVhd(tail))?.problems, [CHECKSUM]);
    const fixed = new VhdImage(2);
    if (fixed.tail) fixed.tail.checksum = false;
    const found = await detectVhd(fixed);
    assert.deepEqual(found?.problems, [CHECKSUM]);
    assert.equal(found?.virtualSize, 4 * MiB);
  });

  test("the copies must agree on every field qemu reads, and may differ elsewhere", async () => {
    const edits: [string, (f: FooterFields) => void, boolean][] = [
      ["type", (f) => (f.type = 4), true],
      ["current size", (f) => (f.currentSize += 512n), true],
      ["cylinders", (f) => (f.cylinders += 1), true],
      ["heads", (f) => (f.heads += 1), true],
      ["sectors per track", (f) => (f.sectorsPerTrack += 1), true],
      ["creator", (f) => (f.creator = "qemu"), true],
      ["data offset", (f) => (f.dataOffset = 1024n), true],
      ["uuid", (f) => (f.uuid = new Uint8Array(16)), true],
      ["timestamp", (f) => (f.timestamp += 1), false],
      ["original size", (f) => (f.originalSize = 0n), false],
      ["saved state", (f) => (f.savedState = 1), false],
    ];
    for (const [name, edit, differ] of edits) {
      const image = new VhdImage(3);
      if (image.tail) edit(image.tail);
      assert.deepEqual(
        (await detectVhd(image))?.problems,
        differ ? [corrupt("the two footer copies differ")] : [],
        name,
      );
    }
  });

  test("disk types 2, 3 and 4 only", async () => {
    for (const type of [0, 1, 5, 0x80000003]) {
      const image = new VhdImage(3);
      image.footers((f) => (f.type = type));
      const found = await detectVhd(image);
      assert.deepEqual(
        found?.problems,
        [corrupt(`disk type ${type} is not fixed, dynamic or differencing`)],
        `type ${type}`,
      );
      assert.equal(found?.variant, undefined);
      assert.equal(found?.details?.diskType, type);
    }
  });

  test("a differencing disk is refused outside a chain container, read inside one", async () => {
    const image = new VhdImage(4);
    if (image.dynamic) {
      image.dynamic.parentName = "C:\\base\u0007.vhd";
      image.dynamic.parentUuid = new Uint8Array(16).fill(0xee);
    }
    const outside = await detectVhd(image);
    assert.deepEqual(outside?.problems, [
      {
        code: "vhd-differencing",
        message: "VHD is a differencing disk outside a chain container: its data depends on a parent file",
      },
    ]);
    assert.equal(outside?.variant, "differencing");
    const inside = await detectVhd(image, true);
    const details = {
      ...footerDetails("differencing"),
      blockSize: 2 * MiB,
      batEntries: 2,
      parentName: "C:\\base?.vhd",
      parentUuid: "ee".repeat(16),
    };
    assert.deepEqual(inside, { format: "vhd", variant: "differencing", virtualSize: 4 * MiB, problems: [], details });
  });
});

describe("VHD virtual size", () => {
  /** The virtual size, size rule and problems of a fixed disk's footer given `edit`. */
  async function sized(edit: (f: FooterFields) => void, fileSize = 64 * MiB) {
    const image = new VhdImage(2);
    image.fileSize = fileSize;
    image.footers(edit);
    const found = await detectVhd(image);
    return { virtualSize: found?.virtualSize, rule: found?.details?.sizeRule, problems: found?.problems };
  }

  test("creators Hyper-V, qemu 2, disk2vhd and XenServer use the current size; the others the geometry", async () => {
    for (const creator of ["win ", "qem2", "d2v ", "CTXS", "tap\0"]) {
      const found = await sized((f) =>
        Object.assign(f, { creator, currentSize: 3000n * 512n, cylinders: 100, heads: 4, sectorsPerTrack: 17 }),
      );
      assert.deepEqual(found, { virtualSize: 3000 * 512, rule: "current-size", problems: [] }, JSON.stringify(creator));
    }
    for (const creator of ["vpc ", "qemu", "vs  ", "Win ", "tap "]) {
      const found = await sized((f) =>
        Object.assign(f, { creator, currentSize: 3000n * 512n, cylinders: 100, heads: 4, sectorsPerTrack: 17 }),
      );
      assert.deepEqual(found, { virtualSize: 6800 * 512, rule: "chs", problems: [] }, JSON.stringify(creator));
    }
  });

  test("the maximum geometry 65535/16/255 means the current size, whoever made the disk", async () => {
    const max = await sized((f) =>
      Object.assign(f, {
        creator: "vpc ",
        currentSize: 5000n * 512n,
        cylinders: 65535,
        heads: 16,
        sectorsPerTrack: 255,
      }),
    );
    assert.deepEqual(max, { virtualSize: 5000 * 512, rule: "current-size", problems: [] });
    const below = await sized(
      (f) =>
        Object.assign(f, {
          creator: "vpc ",
          currentSize: 5000n * 512n,
          cylinders: 65535,
          heads: 16,
          sectorsPerTrack: 254,
        }),
      200 * 1024 * MiB,
    );
    assert.deepEqual(below, { virtualSize: 65535 * 16 * 254 * 512, rule: "chs", problems: [] });
  });

  test("the current size counts whole sectors", async () => {
    assert.equal((await sized((f) => (f.currentSize = 3000n * 512n + 511n))).virtualSize, 3000 * 512);
  });

  test("2040 GiB is the largest disk", async () => {
    const top = 0xff000000 * 512;
    assert.deepEqual(await sized((f) => (f.currentSize = BigInt(top)), top + 512), {
      virtualSize: top,
      rule: "current-size",
      problems: [],
    });
    const over = await sized((f) => (f.currentSize = BigInt(top) + 512n), top + 1024);
    assert.deepEqual(over, {
      virtualSize: undefined,
      rule: "current-size",
      problems: [corrupt("the disk is larger than 2040 GiB")],
    });
  });

  test("a current size past 2^53 is left out of the details", async () => {
    const image = new VhdImage(2);
    image.footers((f) => (f.currentSize = 2n ** 53n));
    const found = await detectVhd(image);
    assert.equal(found?.details?.currentSize, undefined);
    assert.equal(found?.virtualSize, undefined);
    image.footers((f) => (f.currentSize = 2n ** 53n - 1n));
    assert.equal((await detectVhd(image))?.details?.currentSize, 2 ** 53 - 1);
  });

  test("a creator with NULs and control bytes is shown printable", async () => {
    const image = new VhdImage(2);
    image.footers((f) => (f.creator = "t\u0001p\0"));
    assert.equal((await detectVhd(image))?.details?.creator, "t?p ");
  });

  test("a fixed disk must hold its size before the footer", async () => {
    const image = new VhdImage(2);
    image.fileSize = 4 * MiB + 511;
    assert.deepEqual((await detectVhd(image))?.problems, [
      { code: "truncated", message: "VHD is truncated: the fixed disk is shorter than its size" },
    ]);
    image.fileSize = 4 * MiB + 512;
    assert.deepEqual((await detectVhd(image))?.problems, []);
    image.fileSize = 4 * MiB + 511;
    image.footers((f) => (f.checksum = false));
    assert.deepEqual(
      (await detectVhd(image))?.problems,
      [CHECKSUM],
      "a footer already refused is not also called short",
    );
  });
});
