import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { after, describe, it } from "node:test";
import { parseDescriptor, type OvfDescriptor, type OvfFile } from "../../../src/plugins/ova/descriptor.ts";
import { ApplianceFiles } from "../../../src/plugins/ova/files.ts";
import { tempDir } from "../../helpers/images.ts";
import { vmwareOvf } from "./fixtures.ts";

const MiB = 1024 * 1024;
const machine = parseDescriptor(vmwareOvf([{ href: "x.vmdk", capacityGiB: 1 }])).machine;

/** A descriptor of one disk of `capacity` bytes held by `file`, and the `others` files no disk uses. */
function descriptorOf(file: Partial<OvfFile>, capacity: number, others: OvfFile[] = []): OvfDescriptor {
  const disk = { id: "file1", href: "d.vmdk", gzip: false, ...file };
  return { files: [disk, ...others], disks: [{ id: "vmdisk1", file: disk, capacity, format: "vmdk" }], machine };
}

/** Bytes that gzip shrinks about 1000×. */
const runOf = (length: number) => Buffer.alloc(length, 0x41);

describe("ApplianceFiles", () => {
  const { dir, cleanup } = tempDir("diskpipe-ova-files-");
  after(cleanup);
  const fresh = () => mkdtempSync(join(dir, "job-"));
  const refusal = (code: string, message: string) => ({ code, message });

  it("refuses a capacity above maxDiskSize before anything is written, accepts one at it", async () => {
    assert.throws(
      () => new ApplianceFiles(descriptorOf({}, 1000), fresh(), 999),
      refusal("disk-too-large", 'disk "vmdisk1" has a capacity of 1000 bytes, more than the 999 allowed'),
    );
    const files = new ApplianceFiles(descriptorOf({}, 1000), fresh(), 1000);
    await (await files.take("d.vmdk")).write(Buffer.from("abc"));
    const [disk] = await files.finish();
    assert.equal(readFileSync(disk.path, "utf8"), "abc");
    assert.equal(disk.path.endsWith("/disk1.vmdk"), true);
  });

  it("lets a disk file grow to its capacity + capacity/8 + 64 MiB, not one byte more", async () => {
    const most = 9 + 2 + 64 * MiB;
    for (const length of [most, most + 1]) {
      const files = new ApplianceFiles(descriptorOf({}, 9), fresh(), undefined);
      const member = await files.take("d.vmdk");
      const write = async () => {
        for (let at = 0; at < length; at += 4 * MiB) await member.write(Buffer.alloc(Math.min(4 * MiB, length - at)));
        return files.finish();
      };
      if (length === most) assert.equal(statSync((await write())[0].path).size, most);
      else
        await assert.rejects(
          write(),
          refusal("disk-too-large", `a disk file grows past ${most} bytes, more than its capacity allows`),
        );
      await files.close();
    }
  });

  it("lets the disks store 64 MiB + 100× the bytes read, exactly", async () => {
    // The length whose gzip member of R bytes makes the data exactly 64 MiB + 100 R.
    let length = 64 * MiB;
    let gz = gzipSync(runOf(length));
    for (let i = 0; i < 20 && length !== 64 * MiB + 100 * gz.length; i++) {
      length = 64 * MiB + 100 * gz.length;
      gz = gzipSync(runOf(length));
    }
    assert.equal(length, 64 * MiB + 100 * gz.length, "a fixed point was found");
    const files = new ApplianceFiles(descriptorOf({ gzip: true }, 256 * MiB), fresh(), undefined);
    await (await files.take("d.vmdk")).write(gz);
    const [disk] = await files.finish();
    assert.equal(statSync(disk.path).size, length);
    const bomb = new ApplianceFiles(descriptorOf({ gzip: true }, 256 * MiB), fresh(), undefined);
    const bigger = gzipSync(runOf(length + 1000));
    const most = 64 * MiB + 100 * bigger.length;
    await assert.rejects(
      (async () => {
        await (await bomb.take("d.vmdk")).write(bigger);
        await bomb.finish();
      })(),
      refusal(
        "decompression-bomb",
        `the disks hold more than ${most} bytes of data, 100 times the ${bigger.length} bytes read beyond the first 64 MiB`,
      ),
    );
    await bomb.close();
  });

  it("takes the chunks of a chunked file in order, each of ovf:chunkSize bytes but the last", async () => {
    const files = new ApplianceFiles(descriptorOf({ chunkSize: 4 }, 100), fresh(), undefined);
    await (await files.take("d.vmdk.000000000")).write(Buffer.from("abcd"));
    const second = await files.take("d.vmdk.000000001");
    await second.write(Buffer.from("ef"));
    await second.write(Buffer.from("gh"));
    await (await files.take("d.vmdk.000000002")).write(Buffer.from("i"));
    const [disk] = await files.finish();
    assert.equal(readFileSync(disk.path, "utf8"), "abcdefghi");
  });

  it("refuses chunks out of order, of the wrong size, or named otherwise", async () => {
    const chunked = async () => new ApplianceFiles(descriptorOf({ chunkSize: 4 }, 100), fresh(), undefined);
    const notReferenced = (name: string) =>
      refusal("archive-entry", `${JSON.stringify(name)} is not a file the descriptor references`);
    await assert.rejects(
      (await chunked()).take("d.vmdk.000000001"),
      refusal("archive-entry", '"d.vmdk.000000001" comes out of order'),
    );
    await assert.rejects((await chunked()).take("d.vmdk.0000000000"), notReferenced("d.vmdk.0000000000"));
    await assert.rejects((await chunked()).take("d.vmdk.00000000"), notReferenced("d.vmdk.00000000"));
    await assert.rejects((await chunked()).take("d.vmdk"), notReferenced("d.vmdk"));
    await assert.rejects((await chunked()).take("x\nd.vmdk.000000000"), {
      code: "archive-entry",
      message: /is not a file the descriptor references/,
    });
    const skipped = await chunked();
    await skipped.take("d.vmdk.000000000");
    await assert.rejects(
      skipped.take("d.vmdk.000000002"),
      refusal("archive-entry", '"d.vmdk.000000002" comes out of order'),
    );
    const short = await chunked();
    await (await short.take("d.vmdk.000000000")).write(Buffer.from("abc"));
    await assert.rejects(
      short.take("d.vmdk.000000001"),
      refusal("archive-entry", 'a chunk of "d.vmdk" before "d.vmdk.000000001" is not 4 bytes'),
    );
    const long = await chunked();
    const member = await long.take("d.vmdk.000000000");
    await member.write(Buffer.from("abcd"));
    await assert.rejects(
      member.write(Buffer.from("e")),
      refusal("archive-entry", '"d.vmdk.000000000" is larger than the 4-byte chunks of its file'),
    );
    for (const files of [short, long, skipped]) await files.close();
    const whole = new ApplianceFiles(descriptorOf({}, 100), fresh(), undefined);
    await assert.rejects(whole.take("d.vmdk.000000000"), notReferenced("d.vmdk.000000000"));
  });

  it("checks declared sizes and that every disk's file arrived", async () => {
    const sized = new ApplianceFiles(descriptorOf({ size: 4 }, 100), fresh(), undefined);
    await (await sized.take("d.vmdk")).write(Buffer.from("abc"));
    await assert.rejects(
      sized.finish(),
      refusal("truncated", '"d.vmdk" holds 3 bytes, not the 4 the descriptor declares'),
    );
    await sized.close();
    const missing = new ApplianceFiles(descriptorOf({}, 100), fresh(), undefined);
    await assert.rejects(
      missing.finish(),
      refusal("archive-entry", '"d.vmdk", the file of disk "vmdisk1", is not in the archive'),
    );
  });

  it("closes every disk file, whether or not other files were taken", async () => {
    const other: OvfFile = { id: "file2", href: "notes.txt", gzip: false };
    const files = new ApplianceFiles(descriptorOf({}, 100, [other]), fresh(), undefined);
    await (await files.take("notes.txt")).write(Buffer.from("not a disk"));
    const disk = await files.take("d.vmdk");
    await disk.write(Buffer.from("ab"));
    await files.close();
    await assert.rejects(disk.write(Buffer.from("cd")));
  });
});
