import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { memoryReader } from "../../core/inspect/readers.ts";
import {
  codes,
  descriptor,
  detect,
  GD_AT_END,
  latin1,
  shortReader,
  sparseHeader,
  sparseImage,
  streamImage,
} from "./vmdk-image.ts";

const MiB = 1024 * 1024;

describe("VMDK stream footer", () => {
  test("a good footer passes and its grain directory is used", async () => {
    const found = await detect(streamImage());
    assert.deepEqual(found, {
      format: "vmdk",
      variant: "streamOptimized",
      virtualSize: 8192 * 512,
      problems: [],
      details: { version: 1, createType: "streamOptimized", clusterSize: 128 * 512, compressed: true, footer: true },
    });
  });

  test("the footer replaces the header: its grain offset is the one checked", async () => {
    // The header's first grain lies past the end; the footer's does not.
    assert.deepEqual(
      codes(await detect(streamImage(MiB, { footer: { grainOffset: 128n } }, { grainOffset: 4096n }))),
      [],
    );
    assert.deepEqual(codes(await detect(streamImage(MiB, { footer: { grainOffset: 4096n } }, { grainOffset: 128n }))), [
      "truncated",
    ]);
  });

  test("a footer is only looked for when the header is sound", async () => {
    assert.deepEqual(codes(await detect(streamImage(MiB, { markerType: 0 }, { version: 9 }))), ["vmdk-corrupt-header"]);
  });

  test("the file must be whole sectors, at least four of them", async () => {
    assert.deepEqual(codes(await detect(streamImage(MiB + 1))), ["vmdk-footer"]);
    const tiny = sparseImage({ header: { gdOffset: GD_AT_END }, size: 3 * 512 });
    assert.deepEqual(codes(await detect(tiny)), ["vmdk-footer"]);
  });

  test("a footer cut short by the end of the data is truncated", async () => {
    assert.deepEqual(codes(await detect(shortReader(streamImage(), MiB - 1))), ["vmdk-footer"]);
  });

  test("each marker field must be exact", async () => {
    assert.deepEqual(codes(await detect(streamImage(MiB, { markerSize: 1 }))), ["vmdk-footer"]);
    assert.deepEqual(codes(await detect(streamImage(MiB, { markerType: 2 }))), ["vmdk-footer"]);
    assert.deepEqual(codes(await detect(streamImage(MiB, { magic: "KDMW" }))), ["vmdk-footer"]);
    assert.deepEqual(codes(await detect(streamImage(MiB, { eosValue: 1n }))), ["vmdk-footer"]);
    assert.deepEqual(codes(await detect(streamImage(MiB, { eosSize: 1 }))), ["vmdk-footer"]);
    assert.deepEqual(codes(await detect(streamImage(MiB, { eosType: 3 }))), ["vmdk-footer"]);
  });

  test("the footer must give a grain directory", async () => {
    assert.deepEqual(codes(await detect(streamImage(MiB, { footer: { gdOffset: GD_AT_END } }))), ["vmdk-footer"]);
  });

  test("the footer must agree with the header on capacity, grain size and grain table size", async () => {
    assert.deepEqual(codes(await detect(streamImage(MiB, { footer: { capacity: 8191n } }))), ["vmdk-footer"]);
    assert.deepEqual(codes(await detect(streamImage(MiB, { footer: { granularity: 64n } }))), ["vmdk-footer"]);
    assert.deepEqual(codes(await detect(streamImage(MiB, { footer: { gtes: 256 } }))), ["vmdk-footer"]);
  });

  test("its grain directory must lie before the footer", async () => {
    const footerSector = (MiB - 1536) / 512;
    assert.deepEqual(codes(await detect(streamImage(MiB, { footer: { gdOffset: BigInt(footerSector - 1) } }))), []);
    assert.deepEqual(codes(await detect(streamImage(MiB, { footer: { gdOffset: BigInt(footerSector) } }))), [
      "vmdk-footer",
    ]);
  });

  test("a corrupt footer header is a footer problem", async () => {
    const found = await detect(streamImage(MiB, { footer: { version: 4 } }));
    assert.deepEqual(codes(found), ["vmdk-footer"]);
    assert.match(found.problems[0]?.message ?? "", /^VMDK footer is corrupt/);
    assert.deepEqual(codes(await detect(streamImage(MiB, { footer: { version: 3 } }))), []);
  });
});

describe("VMDK tables within the file", () => {
  /** A sparse image with its tables at `gd`/`rgd`, first grain at `grain`, of `size` bytes; l1 entries follow from `capacity`. */
  const at = (
    size: number,
    fields: { gd?: bigint; rgd?: bigint; grain?: bigint; flags?: number; capacity?: bigint; version?: number },
  ) =>
    detect(
      sparseImage({
        size,
        header: {
          gdOffset: fields.gd ?? 21n,
          rgdOffset: fields.rgd ?? 21n,
          grainOffset: fields.grain ?? 21n,
          flags: fields.flags ?? 0,
          capacity: fields.capacity ?? 8192n,
          version: fields.version ?? 1,
        },
      }),
    );

  test("the first grain may start at the end of the file, not past it", async () => {
    assert.deepEqual(codes(await at(30 * 512, { grain: 30n })), []);
    assert.deepEqual(codes(await at(30 * 512 - 1, { grain: 30n })), ["truncated"]);
  });

  test("the grain directory's entries must all fit (4 bytes each, rounded up)", async () => {
    // 3 × 65536 + 1 sectors need four directory entries: 16 bytes.
    const capacity = 3n * 65536n + 1n;
    assert.deepEqual(codes(await at(21 * 512 + 16, { capacity })), []);
    assert.deepEqual(codes(await at(21 * 512 + 15, { capacity })), ["truncated"]);
  });

  test("the redundant directory must fit when its flag is set", async () => {
    const size = 40 * 512;
    assert.deepEqual(codes(await at(size, { rgd: 39n, flags: 2 })), []);
    assert.deepEqual(codes(await at(size, { rgd: 40n, flags: 2 })), ["truncated"]);
    assert.deepEqual(codes(await at(size, { rgd: 40n, flags: 1 })), []);
    // Its one 4-byte entry may end exactly at the end of the file.
    assert.deepEqual(codes(await at(39 * 512 + 4, { rgd: 39n, flags: 2 })), []);
    assert.deepEqual(codes(await at(39 * 512 + 3, { rgd: 39n, flags: 2 })), ["truncated"]);
  });

  test("every table past the end is reported", async () => {
    assert.deepEqual(codes(await at(21 * 512, { grain: 22n, rgd: 21n, flags: 2 })), [
      "truncated",
      "truncated",
      "truncated",
    ]);
  });

  test("a header problem stops the bounds checks", async () => {
    assert.deepEqual(codes(await at(21 * 512, { grain: 9000n, version: 9 })), ["vmdk-corrupt-header"]);
  });

  test("a descriptor's bytes are latin-1 and end at the first NUL", async () => {
    const text = descriptor();
    const bytes = new Uint8Array([...latin1(text), 0, ...latin1("hello\n")]);
    const found = await detect(
      memoryReader(MiB, [
        { offset: 0, bytes: sparseHeader() },
        { offset: 512, bytes },
      ]),
    );
    assert.deepEqual(codes(found), []);
  });
});
