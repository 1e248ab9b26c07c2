import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { hashImage } from "../../../src/core/content-hash/index.ts";
import { QemuImg } from "../../../src/core/qemu-img.ts";
import { referenceContentHash } from "../../helpers/content-hash.ts";
import { DRIVER, listDir, makeImage, qemuImg, tempDir } from "../../helpers/images.ts";

const MiB = 1024 * 1024;
const LIMITS = { cpuSeconds: 120, addressSpace: 2 * 1024 ** 3 };
const qemu = new QemuImg();

/** A raw disk of `size` bytes: data in a few places (one straddling a block boundary), zero runs, holes. */
function makeDisk(path: string, size: number): string {
  const fd = openSync(path, "w");
  try {
    ftruncateSync(fd, size);
    for (const at of [0, 65536 - 100, 3 * MiB + 4096, 5 * MiB, size - 3000])
      writeSync(fd, randomBytes(3000), 0, 3000, at);
    writeSync(fd, Buffer.alloc(MiB), 0, MiB, 6 * MiB); // written zeroes: data on disk, zero to the guest
  } finally {
    closeSync(fd);
  }
  return path;
}

async function hash(path: string, format: string, size: number, workDir: string) {
  return hashImage(qemu, { path, format, driver: DRIVER[format] ?? format, options: {} }, size, {
    workDir,
    limits: LIMITS,
  });
}

describe("hashImage: the content hash of a disk in any format", () => {
  const { dir, cleanup } = tempDir();
  // Not a multiple of 64 KiB, nor of the formats' clusters.
  const size = 8 * MiB + 5 * 512;
  let raw = "";
  let expected = "";
  before(() => {
    raw = makeDisk(join(dir, "disk.raw"), size);
    expected = referenceContentHash(readFileSync(raw));
  });
  after(cleanup);

  const conversions: Array<[string, string, string[]]> = [
    ["qcow2", "qcow2", []],
    ["qcow2 compressed", "qcow2", ["-c"]],
    ["vmdk monolithicSparse", "vmdk", ["-o", "subformat=monolithicSparse"]],
    ["vmdk streamOptimized", "vmdk", ["-o", "subformat=streamOptimized"]],
    ["vhd", "vhd", ["-o", "force_size=on"]],
    ["vhdx", "vhdx", []],
    ["vdi", "vdi", []],
  ];

  it("raw: equals an independent implementation of the definition over the raw bytes", async () => {
    const result = await hash(raw, "raw", size, dir);
    assert.equal(result.contentHash, expected);
    assert.match(result.contentHash, /^blk-sha256:[0-9a-f]{64}$/);
  });

  for (const [name, format, options] of conversions) {
    it(`${name}: the same content hash as the raw disk it was converted from`, async () => {
      const image = makeImage(
        raw,
        DRIVER[format] ?? format,
        join(dir, `disk-${name.replace(" ", "-")}.${format}`),
        options,
      );
      const virtual = (
        JSON.parse(qemuImg("info", "--output=json", "-f", DRIVER[format] ?? format, image)) as {
          "virtual-size": number;
        }
      )["virtual-size"];
      assert.equal(virtual, size, "the conversion kept the virtual size");
      assert.equal((await hash(image, format, size, dir)).contentHash, expected);
      assert.deepEqual(
        listDir(dir).filter((entry) => entry.startsWith("nbd-")),
        [],
        "qemu-nbd's socket directory is gone",
      );
    });
  }

  it("two hashing threads give the same hash (raw read natively, qcow2 and vmdk through qemu-nbd)", async () => {
    for (const [path, format] of [
      [raw, "raw"],
      [makeImage(raw, "qcow2", join(dir, "threads.qcow2")), "qcow2"],
      [makeImage(raw, "vmdk", join(dir, "threads.vmdk")), "vmdk"],
    ] as const) {
      const image = { path, format, driver: format, options: {} };
      const result = await hashImage(qemu, image, size, { workDir: dir, limits: LIMITS, threads: 2 });
      assert.equal(result.contentHash, expected, format);
    }
  });

  it("one flipped byte in the guest data changes it, in raw and through qcow2", async () => {
    const flipped = join(dir, "flipped.raw");
    const bytes = readFileSync(raw);
    bytes[5 * MiB + 17] ^= 0x01;
    const fd = openSync(flipped, "w");
    writeSync(fd, bytes);
    closeSync(fd);
    const changed = (await hash(flipped, "raw", size, dir)).contentHash;
    assert.notEqual(changed, expected);
    assert.equal(changed, referenceContentHash(bytes));
    const qcow2 = makeImage(flipped, "qcow2", join(dir, "flipped.qcow2"));
    assert.equal((await hash(qcow2, "qcow2", size, dir)).contentHash, changed);
  });

  it("an empty disk", async () => {
    const empty = join(dir, "empty.raw");
    closeSync(openSync(empty, "w"));
    assert.equal((await hash(empty, "raw", 0, dir)).contentHash, referenceContentHash(Buffer.alloc(0)));
    const qcow2 = join(dir, "empty.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", qcow2, "0");
    assert.equal((await hash(qcow2, "qcow2", 0, dir)).contentHash, referenceContentHash(Buffer.alloc(0)));
  });

  it("a 1 TiB sparse qcow2 reads only its data (a few blocks), not the terabyte", async () => {
    const tib = 1024 ** 4;
    const sparseRaw = join(dir, "tib.raw");
    const fd = openSync(sparseRaw, "w");
    ftruncateSync(fd, tib);
    writeSync(fd, randomBytes(70_000), 0, 70_000, tib / 2 + 12_345);
    closeSync(fd);
    const qcow2 = makeImage(sparseRaw, "qcow2", join(dir, "tib.qcow2"));
    const started = performance.now();
    const viaQcow2 = await hash(qcow2, "qcow2", tib, dir);
    const ms = performance.now() - started;
    assert.ok(viaQcow2.readBytes <= 4 * 65536, `read ${viaQcow2.readBytes} bytes`);
    // Loosely: 16 Mi zero blocks cost hashing 512 MiB of digests, seconds, never the hours 1 TiB of reads would take.
    assert.ok(ms < 60_000, `took ${Math.round(ms)} ms`);
    const viaRaw = await hash(sparseRaw, "raw", tib, dir);
    assert.ok(viaRaw.readBytes <= 4 * 65536, `read ${viaRaw.readBytes} bytes of the raw file`);
    assert.equal(viaRaw.contentHash, viaQcow2.contentHash);
  });

  it("an image qemu cannot read as the given format fails with qemu-img-failed and leaves nothing", async () => {
    const notQcow2 = join(dir, "not-really.qcow2");
    makeImage(raw, "vdi", notQcow2);
    await assert.rejects(
      hashImage(qemu, { path: notQcow2, format: "qcow2", driver: "qcow2", options: {} }, size, {
        workDir: dir,
        limits: LIMITS,
      }),
      { code: "qemu-img-failed" },
    );
    assert.deepEqual(
      listDir(dir).filter((entry) => entry.startsWith("nbd-")),
      [],
    );
  });
});
