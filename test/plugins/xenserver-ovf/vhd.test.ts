import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { coalesceChain } from "../../../src/plugins/xenserver-ovf/coalesce.ts";
import { ChainRejection } from "../../../src/plugins/xenserver-ovf/rejection.ts";
import { VhdFile } from "../../../src/plugins/xenserver-ovf/vhd.ts";
import { removeTempDirs, tempDir } from "./helpers.ts";
import { applyWrites, buildVhd, fixChecksum, type VhdLayout } from "./vhd-writer.ts";

const MiB = 1024 * 1024;

async function writeVhd(bytes: Uint8Array, name = "0.vhd"): Promise<string> {
  const path = join(await tempDir(), name);
  await writeFile(path, bytes);
  return path;
}

async function readWhole(bytes: Uint8Array): Promise<Buffer> {
  const path = await writeVhd(bytes);
  const vhd = await VhdFile.open(path);
  try {
    await coalesceChain([vhd], `${path}.raw`);
  } finally {
    await vhd.close();
  }
  return readFile(`${path}.raw`);
}

async function rejection(bytes: Uint8Array): Promise<ChainRejection> {
  const path = await writeVhd(bytes);
  try {
    const vhd = await VhdFile.open(path);
    await vhd.close();
  } catch (error) {
    assert.ok(error instanceof ChainRejection, `expected a ChainRejection, got ${String(error)}`);
    return error;
  }
  assert.fail("the VHD was accepted");
}

const pattern = (length: number, seed: number) => Buffer.from(Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff));

describe("VhdFile", () => {
  after(removeTempDirs);

  const writes = [
    { offset: 0, data: pattern(4096, 1) },
    { offset: 3 * MiB - 512, data: pattern(1024, 2) },
    { offset: 5 * MiB + 512 * 3, data: pattern(512 * 9, 3) },
  ];
  const size = 6 * MiB + 512 * 5; // not block-aligned

  for (const layout of [
    { type: "fixed", size, writes },
    { type: "dynamic", size, writes },
    { type: "dynamic", size, writes, blockSize: 512 * 1024, descending: true },
    { type: "dynamic", size, writes, maxTableEntries: 100 },
  ] satisfies VhdLayout[]) {
    it(`reads a ${layout.type} disk (block ${layout.blockSize ?? "2 MiB"}${layout.descending ? ", blocks out of order" : ""})`, async () => {
      const { bytes, uniqueId } = buildVhd(layout);
      const path = await writeVhd(bytes);
      const vhd = await VhdFile.open(path);
      assert.equal(vhd.info.type, layout.type);
      assert.equal(vhd.info.size, size);
      assert.equal(vhd.info.uniqueId.replaceAll("-", ""), Buffer.from(uniqueId).toString("hex"));
      await vhd.close();
      assert.ok((await readWhole(bytes)).equals(applyWrites(Buffer.alloc(size), writes)));
    });
  }

  it("reads a dynamic disk's unstored sectors as zero even when the block holds other bytes", async () => {
    const { bytes } = buildVhd({
      type: "dynamic",
      size: 2 * MiB,
      writes: [{ offset: 1024, data: pattern(512, 9) }],
      filler: 0xee,
    });
    assert.ok(
      (await readWhole(bytes)).equals(applyWrites(Buffer.alloc(2 * MiB), [{ offset: 1024, data: pattern(512, 9) }])),
    );
  });

  it("reports a differencing disk's parent", async () => {
    const parentId = Buffer.from("00112233445566778899aabbccddeeff", "hex");
    const { bytes } = buildVhd({ type: "differencing", size: MiB, parentId, parentName: "Basé.vhd" });
    const vhd = await VhdFile.open(await writeVhd(bytes));
    assert.equal(vhd.info.parentId, "00112233-4455-6677-8899-aabbccddeeff");
    assert.equal(vhd.info.parentName, "Basé.vhd");
    assert.equal(vhd.info.blockSize, 2 * MiB);
    await vhd.close();
  });

  it("rejects a bad footer checksum", async () => {
    const { bytes } = buildVhd({ type: "dynamic", size: MiB });
    bytes[bytes.length - 512 + 100] ^= 1;
    assert.equal((await rejection(bytes)).code, "vhd-checksum");
  });

  it("rejects a bad dynamic header checksum", async () => {
    const { bytes } = buildVhd({ type: "dynamic", size: MiB });
    bytes[512 + 700] ^= 1;
    assert.equal((await rejection(bytes)).code, "vhd-checksum");
  });

  it("rejects a file without a footer", async () => {
    assert.equal((await rejection(Buffer.alloc(4096, 7))).code, "vhd-corrupt-header");
    assert.equal((await rejection(Buffer.alloc(100))).code, "truncated");
  });

  it("rejects a cut-short dynamic disk as truncated", async () => {
    const { bytes } = buildVhd({
      type: "dynamic",
      size: 4 * MiB,
      writes: [{ offset: 3 * MiB, data: pattern(512, 1) }],
    });
    assert.equal((await rejection(bytes.subarray(0, bytes.length - 4096))).code, "truncated");
  });

  it("rejects a fixed disk larger than its file as truncated", async () => {
    const { bytes } = buildVhd({ type: "fixed", size: MiB });
    const footer = Buffer.from(bytes.subarray(bytes.length - 512));
    assert.equal((await rejection(Buffer.concat([bytes.subarray(0, 4096), footer]))).code, "truncated");
  });

  it("rejects a block that lies past the end of the file", async () => {
    const { bytes } = buildVhd({ type: "dynamic", size: 4 * MiB, writes: [{ offset: 0, data: pattern(512, 1) }] });
    bytes.writeUInt32BE(0x00100000, 3 * 512); // block 0 moved to 512 MiB
    assert.equal((await rejection(bytes)).code, "truncated");
  });

  for (const [what, change] of [
    ["an unknown disk type", (b: Buffer) => b.writeUInt32BE(5, 60)],
    ["a size that is not a multiple of 512", (b: Buffer) => b.writeBigUInt64BE(1000n, 48)],
    ["a size beyond 2 TiB", (b: Buffer) => b.writeBigUInt64BE(2n ** 42n, 48)],
  ] as const) {
    it(`rejects ${what}`, async () => {
      const { bytes } = buildVhd({ type: "fixed", size: MiB });
      const footer = bytes.subarray(bytes.length - 512);
      change(footer);
      fixChecksum(footer, 64);
      assert.equal((await rejection(bytes)).code, "vhd-corrupt-header");
    });
  }

  for (const [what, change] of [
    ["a block size that is not a power of two", (h: Buffer) => h.writeUInt32BE(3 * MiB, 32)],
    ["a block size below 512 KiB", (h: Buffer) => h.writeUInt32BE(4096, 32)],
    ["a block size above 256 MiB", (h: Buffer) => h.writeUInt32BE(512 * MiB, 32)],
    ["a block table too small for the size", (h: Buffer) => h.writeUInt32BE(1, 28)],
    ["a block table with 4 billion entries", (h: Buffer) => h.writeUInt32BE(0xffffffff, 28)],
    ["an unknown header version", (h: Buffer) => h.writeUInt32BE(0x00020000, 24)],
    ["a missing cxsparse cookie", (h: Buffer) => h.write("cxspars!", 0, "latin1")],
  ] as const) {
    it(`rejects ${what}`, async () => {
      const { bytes } = buildVhd({ type: "dynamic", size: 4 * MiB });
      const header = bytes.subarray(512, 1536);
      change(header);
      fixChecksum(header, 36);
      assert.equal((await rejection(bytes)).code, "vhd-corrupt-header");
    });
  }

  it("rejects a footer copy that differs from the footer", async () => {
    const { bytes } = buildVhd({ type: "dynamic", size: MiB });
    const copy = bytes.subarray(0, 512);
    copy.writeUInt32BE(0x11111111, 24);
    fixChecksum(copy, 64);
    assert.equal((await rejection(bytes)).code, "vhd-corrupt-header");
  });

  it("rejects a block table past the end of the file as truncated", async () => {
    const { bytes } = buildVhd({ type: "dynamic", size: 4 * MiB });
    const header = bytes.subarray(512, 1536);
    header.writeBigUInt64BE(2n ** 40n, 16);
    fixChecksum(header, 36);
    assert.equal((await rejection(bytes)).code, "truncated");
  });
});
