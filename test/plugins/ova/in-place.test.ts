import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { gzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { extractAppliance } from "../../../src/plugins/ova/extract.ts";
import { InPlaceDisk } from "../../../src/plugins/ova/in-place.ts";
import { tempDir } from "../../helpers/images.ts";
import { applianceMembers, manifestOf, twoVmdks, writeTar, type Member } from "./archive.ts";

describe("a plain disk read where it lies in the archive", () => {
  const { dir, cleanup } = tempDir("diskpipe-ova-in-place-");
  const work = join(dir, "work");
  let vmdks: Buffer[] = [];
  let count = 0;
  const ova = (members: Member[]) => writeTar(join(dir, `a${++count}.ova`), members);
  const bytesAt = (path: string, offset: number, length: number) =>
    readFileSync(path).subarray(offset, offset + length);

  before(() => {
    mkdirSync(work);
    vmdks = twoVmdks(dir).map(({ vmdk }) => vmdk);
  });
  after(cleanup);

  it("gives each plain disk as the byte range of the archive that holds it, behind a pax header too, and copies nothing", async () => {
    // A name of 120 bytes needs a pax header before the member's own: its data starts 1 KiB later than a short name's.
    const long = `${"d".repeat(115)}.vmdk`;
    const disks = [
      { href: "vm-disk1.vmdk", capacityGiB: 1, data: vmdks[0] ?? Buffer.alloc(0) },
      { href: long, capacityGiB: 1, data: vmdks[1] ?? Buffer.alloc(0) },
    ];
    const archive = await ova(applianceMembers(disks));
    const appliance = await extractAppliance(archive, work, { inPlace: true });
    assert.equal(appliance.verified, true);
    for (const [i, { path, region }] of appliance.disks.entries()) {
      assert.equal(path, archive, `disk ${i + 1} is read from the archive`);
      assert.ok(region, `disk ${i + 1} has its range`);
      assert.equal(region.length, disks[i]?.data.length);
      assert.ok(bytesAt(archive, region.offset, region.length).equals(disks[i]?.data ?? Buffer.alloc(1)));
    }
    assert.deepEqual(readdirSync(appliance.dir), [], "no disk was copied out");
    rmSync(appliance.dir, { recursive: true });
  });

  it("still writes out a gzip-compressed disk, a chunked one, and every disk of a stream (no file to read in place)", async () => {
    const one = vmdks[0] ?? Buffer.alloc(0);
    const two = vmdks[1] ?? Buffer.alloc(0);
    const gz = gzipSync(one);
    const chunkSize = Math.ceil(two.length / 2);
    const members = applianceMembers(
      [
        { href: "vm-disk1.vmdk", capacityGiB: 1, size: gz.length, gzip: true, data: gz },
        { href: "vm-disk2.vmdk", capacityGiB: 1, size: two.length, data: two },
      ],
      (ovf) => ovf.replace('ovf:href="vm-disk2.vmdk"', `ovf:href="vm-disk2.vmdk" ovf:chunkSize="${chunkSize}"`),
    ).flatMap((member): Member[] =>
      member.name === "vm-disk2.vmdk"
        ? [0, 1].map((i) => ({
            name: `vm-disk2.vmdk.${String(i).padStart(9, "0")}`,
            data: two.subarray(i * chunkSize, (i + 1) * chunkSize),
          }))
        : [member],
    );
    // The manifest lists the chunks: rebuilt over the members as they are stored.
    const stored = members.filter((m) => m.name !== "vm.mf");
    const archive = await ova([
      stored[0] ?? { name: "x" },
      { name: "vm.mf", data: manifestOf(stored) },
      ...stored.slice(1),
    ]);
    const appliance = await extractAppliance(archive, work, { inPlace: true });
    assert.deepEqual(
      appliance.disks.map(({ path, region }) => [path.startsWith(appliance.dir), region]),
      [
        [true, undefined],
        [true, undefined],
      ],
    );
    assert.ok(readFileSync(appliance.disks[0]?.path ?? "").equals(one));
    assert.ok(readFileSync(appliance.disks[1]?.path ?? "").equals(two));
    rmSync(appliance.dir, { recursive: true });

    const plain = await ova(
      applianceMembers([
        { href: "vm-disk1.vmdk", capacityGiB: 1, data: one },
        { href: "vm-disk2.vmdk", capacityGiB: 1, data: two },
      ]),
    );
    async function* streamed() {
      yield readFileSync(plain);
    }
    const fromStream = await extractAppliance(streamed(), work, { inPlace: true });
    assert.deepEqual(
      fromStream.disks.map(({ path, region }) => [path.startsWith(fromStream.dir), region]),
      [
        [true, undefined],
        [true, undefined],
      ],
    );
    rmSync(fromStream.dir, { recursive: true });
  });
});

describe("InPlaceDisk", () => {
  const { dir, cleanup } = tempDir("diskpipe-ova-in-place-disk-");
  after(cleanup);
  const data = Buffer.from(Array.from({ length: 200 * 1024 }, (_, i) => (i * 7 + (i >> 9)) % 251));
  const file = join(dir, "archive");
  before(() => writeFileSync(file, Buffer.concat([Buffer.alloc(1536, 1), data, Buffer.alloc(512)])));
  const streamed = (disk: InPlaceDisk, bytes: Buffer, piece = 48 * 1024) => {
    for (let at = 0; at < bytes.length; at += piece) disk.write(bytes.subarray(at, at + piece));
  };

  it("accepts the range that holds the bytes that streamed by, in pieces of any size", async () => {
    for (const piece of [1000, 48 * 1024, 70 * 1024, data.length]) {
      const disk = new InPlaceDisk(file, "d.vmdk", { offset: 1536, length: data.length }, data.length);
      streamed(disk, data, piece);
      await disk.finish();
    }
  });

  it("refuses a range whose head or tail differs from what streamed by (a wrong offset: qemu-img would read other bytes)", async () => {
    for (const offset of [1024, 2048, 1537]) {
      const disk = new InPlaceDisk(file, "d.vmdk", { offset, length: data.length }, data.length);
      streamed(disk, data);
      await assert.rejects(disk.finish(), { code: "archive-entry", message: /does not hold "d\.vmdk" at bytes/ });
    }
    // Only the last byte differs: the tail is compared too.
    const changed = Buffer.from(data);
    changed[changed.length - 1] = (changed.at(-1) ?? 0) ^ 0xff;
    const disk = new InPlaceDisk(file, "d.vmdk", { offset: 1536, length: data.length }, data.length);
    streamed(disk, changed);
    await assert.rejects(disk.finish(), { code: "archive-entry" });
    // A range past the end of the file reads short.
    const past = new InPlaceDisk(file, "d.vmdk", { offset: 1536 + 1024, length: data.length }, data.length);
    streamed(past, data);
    await assert.rejects(past.finish(), { code: "archive-entry" });
  });

  it("compares the first and the last 64 KiB each on its own, whatever the pieces the bytes came in", async () => {
    // One byte differs: the first (only the head covers it), or the first of the last 64 KiB (only the tail does).
    for (const at of [0, 100, data.length - 64 * 1024])
      for (const piece of [1000, 48 * 1024, 70 * 1024, data.length]) {
        const changed = Buffer.from(data);
        changed[at] = (changed[at] ?? 0) ^ 0xff;
        const disk = new InPlaceDisk(file, "d.vmdk", { offset: 1536, length: data.length }, data.length);
        streamed(disk, changed, piece);
        await assert.rejects(disk.finish(), { code: "archive-entry" }, `byte ${at}, pieces of ${piece}`);
      }
  });

  it("names the range in its refusal, and leaves no file open either way", async () => {
    const open = () => readdirSync("/proc/self/fd").length;
    const before = open();
    const wrong = new InPlaceDisk(file, "d.vmdk", { offset: 1024, length: data.length }, data.length);
    streamed(wrong, data);
    await assert.rejects(wrong.finish(), { message: /at bytes 1024 to 205824, where its header puts it/ });
    const right = new InPlaceDisk(file, "d.vmdk", { offset: 1536, length: data.length }, data.length);
    streamed(right, data);
    await right.finish();
    assert.equal(open(), before);
  });

  it("keeps only the last chunks of what streamed by, not every chunk (a disk of many GiB passes through)", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const disk = new InPlaceDisk(file, "d.vmdk", { offset: 1536, length: data.length }, data.length);
    const early: WeakRef<Uint8Array>[] = [];
    const piece = 16 * 1024;
    for (let at = 0; at < data.length; at += piece) {
      const chunk = Uint8Array.from(data.subarray(at, at + piece));
      if (at < 64 * 1024) early.push(new WeakRef(chunk));
      disk.write(chunk);
    }
    // Past the next turn of the event loop a WeakRef no longer holds its target; then a full collection.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    assert.deepEqual(
      early.map((ref) => ref.deref() === undefined),
      [true, true, true, true],
      "the first 64 KiB of chunks are let go (the head is a copy of them)",
    );
    await disk.finish();
  });

  it("refuses a range that runs past the archive's end even when the bytes missing there are zeros", async () => {
    // A disk that ends in zeros, in an archive cut 4 KiB short of the range: what a short read leaves unfilled is zeros
    // too, so only the count of bytes read tells the two apart.
    const zeros = Buffer.concat([data.subarray(0, 100 * 1024), Buffer.alloc(100 * 1024)]);
    const cut = join(dir, "cut");
    writeFileSync(cut, Buffer.concat([Buffer.alloc(1536, 1), zeros]));
    const whole = Buffer.concat([zeros, Buffer.alloc(4096)]);
    const disk = new InPlaceDisk(cut, "d.vmdk", { offset: 1536, length: whole.length }, whole.length);
    streamed(disk, whole);
    await assert.rejects(disk.finish(), { code: "archive-entry" });
    // A member of zeros only, placed wholly past the end: nothing there to read at all.
    const nothing = new InPlaceDisk(cut, "z.vmdk", { offset: 1536 + zeros.length + 512, length: 1000 }, 1000);
    streamed(nothing, Buffer.alloc(1000));
    await assert.rejects(nothing.finish(), { code: "archive-entry" });
  });

  it("refuses a member larger than its disk may be at once, and one that did not stream whole", async () => {
    assert.throws(() => new InPlaceDisk(file, "d.vmdk", { offset: 0, length: 4097 }, 4096), {
      code: "disk-too-large",
      message: /"d\.vmdk" is 4097 bytes, more than its capacity allows \(4096\)/,
    });
    const disk = new InPlaceDisk(file, "d.vmdk", { offset: 1536, length: data.length }, data.length);
    streamed(disk, data.subarray(0, data.length - 1));
    await assert.rejects(disk.finish(), { code: "truncated", message: /holds 204799 bytes, not the 204800/ });
  });
});
