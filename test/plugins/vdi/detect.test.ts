import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { HeaderFacts } from "../../../src/core/inspect/types.ts";
import { vdiDetector } from "../../../src/plugins/vdi/detect.ts";
import { memoryReader } from "../../core/inspect/readers.ts";

const MiB = 1024 * 1024;
const HEADER_BYTES = 0x1c8;

/** A VDI 1.1 header's fields (all little-endian on disk). */
interface VdiFields {
  description: string;
  signature: number;
  version: number;
  type: number;
  bitmapOffset: number;
  dataOffset: number;
  sectorSize: number;
  diskSize: bigint;
  blockSize: number;
  blocks: number;
  blocksAllocated: number;
}

/** A dynamic 4 MiB disk of four 1 MiB blocks, its block map at 512 and data at 1 MiB, as qemu makes it. */
function fields(): VdiFields {
  return {
    description: "<<< QEMU VM Virtual Disk Image >>>\n",
    signature: 0xbeda107f,
    version: 0x00010001,
    type: 1,
    bitmapOffset: 512,
    dataOffset: MiB,
    sectorSize: 512,
    diskSize: BigInt(4 * MiB),
    blockSize: MiB,
    blocks: 4,
    blocksAllocated: 1,
  };
}

/** The 512-byte header of `f`, with `edit` applied to its bytes. */
function header(f: VdiFields, edit: (bytes: DataView) => void = () => undefined): Uint8Array {
  const bytes = new Uint8Array(512);
  const view = new DataView(bytes.buffer);
  bytes.set(
    Uint8Array.from(f.description, (c) => c.charCodeAt(0)),
    0,
  );
  view.setUint32(0x40, f.signature, true);
  view.setUint32(0x44, f.version, true);
  view.setUint32(0x48, 0x190, true);
  view.setUint32(0x4c, f.type, true);
  view.setUint32(0x154, f.bitmapOffset, true);
  view.setUint32(0x158, f.dataOffset, true);
  view.setUint32(0x168, f.sectorSize, true);
  view.setBigUint64(0x170, f.diskSize, true);
  view.setUint32(0x178, f.blockSize, true);
  view.setUint32(0x180, f.blocks, true);
  view.setUint32(0x184, f.blocksAllocated, true);
  for (let i = 0x188; i < 0x1a8; i++) bytes[i] = i & 0xff; // creation and modification UUIDs
  edit(view);
  return bytes;
}

/** Runs the detector on a file of `fileSize` bytes starting with the header of `edit(fields())`. */
async function detect(
  edit: (f: VdiFields) => void = () => undefined,
  options: { fileSize?: number; bytes?: (v: DataView) => void } = {},
) {
  const f = fields();
  edit(f);
  const heard: HeaderFacts[] = [];
  const reader = memoryReader(options.fileSize ?? 2 * MiB, [{ offset: 0, bytes: header(f, options.bytes) }]);
  const found = await vdiDetector.detect(reader, { onHeader: (h) => heard.push(h) });
  return { found, heard, problems: found?.problems.map((p) => p.message) };
}

const DETAILS = { description: "<<< QEMU VM Virtual Disk Image >>>?", blocks: 4, blocksAllocated: 1 };

describe("VDI identification", () => {
  test("a qemu-style dynamic disk is clean and its header facts are told", async () => {
    const { found, heard } = await detect();
    assert.deepEqual(found, {
      format: "vdi",
      variant: "dynamic",
      virtualSize: 4 * MiB,
      problems: [],
      details: DETAILS,
    });
    assert.deepEqual(heard, [{ format: "vdi", virtualSize: 4 * MiB, details: DETAILS }]);
    assert.equal((await detect((f) => (f.type = 2))).found?.variant, "fixed");
  });

  test("the description is shown trimmed", async () => {
    const { found } = await detect((f) => (f.description = "  my disk \t"));
    assert.equal(found?.details?.description, "my disk ?");
    assert.equal((await detect((f) => (f.description = "  my disk  "))).found?.details?.description, "my disk");
  });

  test("the signature at 0x40 is what makes a VDI", async () => {
    assert.equal((await detect((f) => (f.signature = 0xbeda107e))).found, null);
    assert.equal(await vdiDetector.detect(memoryReader(0x43, [{ offset: 0, bytes: header(fields()) }]), {}), null);
  });

  test("a header shorter than 0x1c8 bytes is truncated", async () => {
    const short = await vdiDetector.detect(
      memoryReader(HEADER_BYTES - 1, [{ offset: 0, bytes: header(fields()) }]),
      {},
    );
    assert.deepEqual(short, { format: "vdi", problems: [{ code: "truncated", message: "VDI header is truncated" }] });
    const whole = await detect(() => undefined, { fileSize: HEADER_BYTES });
    assert.deepEqual(whole.problems, ["VDI is truncated: the block map lies past the end of the file"]);
    assert.equal(whole.found?.problems[0]?.code, "truncated");
  });

  test("the block map must end by the end of the file", async () => {
    assert.deepEqual((await detect(() => undefined, { fileSize: 512 + 16 })).problems, []);
    assert.deepEqual((await detect(() => undefined, { fileSize: 512 + 15 })).problems, [
      "VDI is truncated: the block map lies past the end of the file",
    ]);
    // A corrupt header is not also called truncated.
    assert.deepEqual((await detect((f) => (f.type = 9), { fileSize: 512 + 15 })).problems, [
      "VDI header is corrupt: image type 9 is not dynamic or fixed",
    ]);
  });
});

describe("VDI header checks", () => {
  test("version 1.1 only, and nothing else is checked on another version", async () => {
    for (const version of [0x00010000, 0x00010002, 0x00000001, 0x00020001]) {
      const { found } = await detect((f) => ((f.version = version), (f.sectorSize = 4096)));
      assert.deepEqual(found?.problems, [
        { code: "vdi-corrupt-header", message: `VDI header is corrupt: version ${version.toString(16)} is not 1.1` },
      ]);
    }
  });

  test("image types 1 (dynamic) and 2 (fixed) only", async () => {
    for (const type of [0, 3, 4]) {
      const { found } = await detect((f) => (f.type = type));
      assert.deepEqual(
        found?.problems.map((p) => p.message),
        [`VDI header is corrupt: image type ${type} is not dynamic or fixed`],
      );
      assert.equal(found?.variant, undefined);
    }
  });

  test("the block map and data must start on whole sectors", async () => {
    const aligned = "VDI header is corrupt: block map or data offset is not sector aligned";
    assert.deepEqual((await detect((f) => (f.bitmapOffset = 1024 + 1))).problems, [aligned]);
    assert.deepEqual((await detect((f) => (f.dataOffset = MiB + 256))).problems, [aligned]);
  });

  test("sectors of 512 bytes and blocks of 1 MiB only", async () => {
    assert.deepEqual((await detect((f) => (f.sectorSize = 4096))).problems, [
      "VDI header is corrupt: sector size 4096 is not 512",
    ]);
    assert.deepEqual((await detect((f) => (f.blockSize = 2 * MiB))).problems, [
      `VDI header is corrupt: block size ${2 * MiB} is not 1 MiB`,
    ]);
  });

  test("the block map must cover the disk, and not go past it", async () => {
    assert.deepEqual((await detect((f) => (f.diskSize = BigInt(4 * MiB) + 1n))).problems, [
      "VDI header is corrupt: disk size exceeds the block map",
    ]);
    assert.deepEqual((await detect((f) => (f.diskSize = BigInt(3 * MiB) + 1n))).problems, []);
    assert.deepEqual((await detect((f) => (f.diskSize = BigInt(3 * MiB)))).problems, [
      "VDI header is corrupt: block map is larger than the disk",
    ]);
  });

  test("at most 0x3fffffff blocks", async () => {
    const big = (blocks: number) => (f: VdiFields) => (
      (f.blocks = blocks),
      (f.diskSize = BigInt(blocks) * BigInt(MiB)),
      (f.dataOffset = 0xfffffe00)
    );
    const overlap = "VDI header is corrupt: block map overlaps the header or the data";
    assert.deepEqual((await detect(big(0x3fffffff))).problems, [overlap]);
    assert.deepEqual((await detect(big(0x40000000))).problems, [
      "VDI header is corrupt: 1073741824 blocks is too many",
      overlap,
    ]);
    // Too many blocks is the one size finding, even when the disk is larger still.
    const more = await detect((f) => ((f.blocks = 0x40000000), (f.diskSize = 2n ** 62n), (f.dataOffset = 0xfffffe00)));
    assert.deepEqual(more.problems, ["VDI header is corrupt: 1073741824 blocks is too many", overlap]);
  });

  test("the block map lies after the header and ends by the start of the data", async () => {
    const aligned = "VDI header is corrupt: block map or data offset is not sector aligned";
    const overlap = "VDI header is corrupt: block map overlaps the header or the data";
    assert.deepEqual((await detect((f) => (f.bitmapOffset = HEADER_BYTES))).problems, [aligned]);
    assert.deepEqual((await detect((f) => (f.bitmapOffset = HEADER_BYTES - 1))).problems, [aligned, overlap]);
    assert.deepEqual((await detect((f) => (f.bitmapOffset = 0))).problems, [overlap]);
    assert.deepEqual((await detect((f) => (f.dataOffset = 512 + 16))).problems, [aligned]);
    assert.deepEqual((await detect((f) => (f.dataOffset = 512 + 15))).problems, [aligned, overlap]);
    assert.deepEqual(
      (await detect((f) => ((f.blocks = 128), (f.diskSize = BigInt(128 * MiB)), (f.dataOffset = 1024)))).problems,
      [],
    );
    assert.deepEqual(
      (await detect((f) => ((f.blocks = 129), (f.diskSize = BigInt(129 * MiB)), (f.dataOffset = 1024)))).problems,
      [overlap],
    );
  });

  test("a link or parent UUID (a differencing image) is refused; other UUIDs are not", async () => {
    for (const [at, why] of [
      [0x1a8, "it has a link UUID"],
      [0x1b7, "it has a link UUID"],
      [0x1b8, "it has a parent UUID (a differencing image)"],
      [0x1c7, "it has a parent UUID (a differencing image)"],
    ] as const) {
      const { problems } = await detect(() => undefined, { bytes: (v) => v.setUint8(at, 1) });
      assert.deepEqual(problems, [`VDI header is corrupt: ${why}`], `byte ${at}`);
    }
    assert.deepEqual((await detect(() => undefined, { bytes: (v) => v.setUint8(0x1c8, 1) })).problems, []);
  });

  test("every finding is told at once, and the header is still told", async () => {
    const { found, heard } = await detect((f) => ((f.type = 9), (f.sectorSize = 1024), (f.bitmapOffset = 0)), {
      bytes: (v) => v.setUint8(0x1b8, 1),
    });
    assert.deepEqual(
      found?.problems.map((p) => p.message),
      [
        "VDI header is corrupt: image type 9 is not dynamic or fixed",
        "VDI header is corrupt: sector size 1024 is not 512",
        "VDI header is corrupt: block map overlaps the header or the data",
        "VDI header is corrupt: it has a parent UUID (a differencing image)",
      ],
    );
    assert.ok(found?.problems.every((p) => p.code === "vdi-corrupt-header"));
    assert.equal(heard.length, 1);
  });
});

describe("VDI virtual size", () => {
  test("an odd disk size is rounded down to whole sectors", async () => {
    const { found, heard } = await detect((f) => (f.diskSize = BigInt(4 * MiB) - 1n));
    assert.equal(found?.virtualSize, 4 * MiB - 512);
    assert.equal(heard[0]?.virtualSize, 4 * MiB - 512);
  });

  test("a disk size past 2^53 has no virtual size and is not told", async () => {
    const top = await detect((f) => (f.diskSize = BigInt(Number.MAX_SAFE_INTEGER)));
    assert.equal(top.found?.virtualSize, Math.floor(Number.MAX_SAFE_INTEGER / 512) * 512);
    const over = await detect((f) => (f.diskSize = BigInt(Number.MAX_SAFE_INTEGER) + 1n));
    assert.equal(over.found?.virtualSize, undefined);
    assert.deepEqual(over.heard, []);
    assert.deepEqual(over.problems, ["VDI header is corrupt: disk size exceeds the block map"]);
  });
});
