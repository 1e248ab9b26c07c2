import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, describe, it } from "node:test";
import { convert } from "../../../src/mod.ts";
import { ChunkReader } from "../../../src/plugins/compressed/chunks.ts";
import { Refusal } from "../../../src/plugins/compressed/refusal.ts";
import { extractOne, type MemberSink } from "../../../src/plugins/compressed/tar.ts";
import { failure } from "../../helpers/failure.ts";
import { tarball, type TarEntry } from "../../helpers/tar.ts";
import { makeRaw, tempDir } from "../../helpers/images.ts";
import { compress, missingTools, tarHeader, tarOf } from "./helpers.ts";

const MiB = 1024 * 1024;

/** Extracts with a sink that rebuilds the content in memory; returns it and the holes seen. */
async function extract(archive: Uint8Array, chunk = 4096): Promise<{ name: string; content: Buffer; holes: number }> {
  const parts: Buffer[] = [];
  let holes = 0;
  const sink: MemberSink = {
    write: async (bytes) => void parts.push(Buffer.from(bytes)),
    hole: async (length) => {
      holes++;
      parts.push(Buffer.alloc(length));
    },
  };
  const pieces = Array.from({ length: Math.ceil(archive.length / chunk) }, (_, i) =>
    archive.subarray(i * chunk, (i + 1) * chunk),
  );
  const member = await extractOne(new ChunkReader(Readable.from(pieces)), sink);
  return { name: member.name, content: Buffer.concat(parts), holes };
}

async function refused(archive: Uint8Array, pattern: RegExp, code = "archive-entry"): Promise<void> {
  await assert.rejects(extract(archive), (error: unknown) => {
    assert.ok(error instanceof Refusal, String(error));
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  });
}

/** A plain tar made by tar-stream from entries whose headers are written as given. */
const pack = (entries: TarEntry[]) => tarball(entries, false);

/** The archive with its first header's type flag changed (and its checksum made right again). */
function retype(archive: Buffer, type: string): Buffer {
  const copy = Buffer.from(archive);
  copy[156] = type.charCodeAt(0);
  copy.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += copy[i];
  copy.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  return copy;
}

describe("a tar holding one disk image", { skip: missingTools }, () => {
  const { dir, cleanup } = tempDir("diskpipe-compressed-tar-");
  after(cleanup);
  const disk = Buffer.alloc(300 * 1024, 0x41);

  it("yields the one member of a GNU, a POSIX (PAX) and a ustar archive, a long name and a ./ directory", async () => {
    const path = join(dir, "disk.raw");
    writeFileSync(path, disk);
    for (const format of ["gnu", "oldgnu", "posix", "ustar"]) {
      const result = await extract(readFileSync(tarOf(path, join(dir, `${format}.tar`), { format })));
      assert.equal(result.name, "disk.raw", format);
      assert.ok(result.content.equals(disk), format);
    }
    const deep = join(dir, "d".repeat(120));
    mkdirSync(deep);
    writeFileSync(join(deep, "disk.raw"), disk);
    const long = await extract(readFileSync(tarOf(join(deep, "disk.raw"), join(dir, "long.tar"))));
    assert.ok(long.content.equals(disk));
    const folder = join(dir, "folder");
    mkdirSync(folder);
    writeFileSync(join(folder, "disk.raw"), disk);
    execFileSync("tar", ["-cf", join(dir, "dot.tar"), "-C", folder, "."]);
    assert.equal((await extract(readFileSync(join(dir, "dot.tar")))).name, "./disk.raw");
  });

  it("rebuilds a GNU sparse member (tar --sparse, as GCE's disk.raw.tar.gz) with its holes", async () => {
    const sparse = makeRaw(join(dir, "sparse.raw"), 32 * MiB);
    for (const format of ["gnu", "oldgnu"]) {
      const archive = readFileSync(tarOf(sparse, join(dir, `sparse-${format}.tar`), { sparse: true, format }));
      assert.ok(archive.length < 4 * MiB, "tar stored the holes as holes");
      const result = await extract(archive, 65536);
      assert.ok(result.holes > 0);
      assert.ok(result.content.equals(readFileSync(sparse)), format);
    }
    await refused(
      readFileSync(tarOf(sparse, join(dir, "sparse-posix.tar"), { sparse: true, format: "posix" })),
      /PAX header sets "GNU\.sparse/,
    );
  });

  it("reads a GNU sparse map longer than its header holds: 40 runs, in two extension blocks", async () => {
    const path = join(dir, "many-runs.raw");
    const fd = openSync(path, "w");
    for (let run = 0; run < 40; run++) writeSync(fd, Buffer.alloc(4096, run + 1), 0, 4096, run * 256 * 1024);
    ftruncateSync(fd, 12 * MiB);
    closeSync(fd);
    for (const format of ["gnu", "oldgnu"]) {
      const archive = readFileSync(tarOf(path, join(dir, `many-runs-${format}.tar`), { sparse: true, format }));
      // The header holds 4 runs and each extension block 21: this map needs two of them.
      assert.ok(archive[482] !== 0 && archive[512 + 504] !== 0, `${format}: the map continues into two blocks`);
      const result = await extract(archive, 65536);
      assert.equal(result.holes, 40, format);
      assert.ok(result.content.equals(readFileSync(path)), format);
    }
  });

  it("refuses two members, links, devices, directories, traversal and absolute names", async () => {
    const two = await pack([
      { header: { name: "a.raw" }, data: disk },
      { header: { name: "b.raw" }, data: disk },
    ]);
    await refused(two, /more than one member/);
    const same = await pack([
      { header: { name: "a.raw" }, data: disk },
      { header: { name: "a.raw" }, data: disk },
    ]);
    await refused(same, /more than one member/);
    await refused(
      await pack([{ header: { name: "disk.raw", type: "symlink", linkname: "/etc/shadow" } }]),
      /symbolic link/,
    );
    await refused(await pack([{ header: { name: "disk.raw", type: "link", linkname: "other" } }]), /hard link/);
    await refused(
      await pack([{ header: { name: "disk.raw", type: "block-device", devmajor: 8, devminor: 0 } }]),
      /block device/,
    );
    await refused(await pack([{ header: { name: "fifo", type: "fifo" } }]), /FIFO/);
    await refused(await pack([{ header: { name: "images/", type: "directory" } }]), /is a directory/);
    await refused(await pack([{ header: { name: "../disk.raw" }, data: disk }]), /climbs out/);
    await refused(await pack([{ header: { name: "/var/disk.raw" }, data: disk }]), /absolute path/);
    await refused(await pack([]), /holds no file/);
    // A real tar of a symbolic link.
    symlinkSync("/etc/hostname", join(dir, "link.raw"));
    await refused(readFileSync(tarOf(join(dir, "link.raw"), join(dir, "link.tar"))), /symbolic link/);
  });

  it("bounds PAX headers, refuses global ones, link names and data after the end", async () => {
    const huge = await pack([{ header: { name: "disk.raw", pax: { comment: "x".repeat(70 * 1024) } }, data: disk }]);
    await refused(huge, /PAX header of \d+ bytes is over/);
    const linkpath = await pack([{ header: { name: "disk.raw", pax: { linkpath: "/etc/shadow" } }, data: disk }]);
    await refused(linkpath, /PAX header sets "linkpath"/);
    const global = retype(await pack([{ header: { name: "g" }, data: Buffer.from("20 comment=whatever\n") }]), "g");
    await refused(global, /global PAX header/);
    await refused(retype(await pack([{ header: { name: "disk.raw" }, data: disk }]), "K"), /GNU long link name/);
    const good = await pack([{ header: { name: "disk.raw" }, data: disk }]);
    await refused(Buffer.concat([good, Buffer.alloc(512, 0x20)]), /data follows the end of the archive/);
    await refused(good.subarray(0, 100 * 1024), /cut short/, "truncated");
  });

  it("bounds the headers before the member: endless ./ entries that write nothing are refused", async () => {
    const dot = tarHeader({ name: "./", size: 0, type: "5" });
    const member = tarHeader({ name: "disk.raw", size: 512 });
    const archive = Buffer.concat([...Array(4096).fill(dot), member, Buffer.alloc(512, 0x41), Buffer.alloc(1024)]);
    await refused(archive, /headers/);
  });

  it("reads a PAX header whose path is not ASCII (its record lengths count bytes)", async () => {
    const path = join(dir, "d\u00efsk-\u00e9t\u00e9.raw");
    writeFileSync(path, disk);
    const result = await extract(readFileSync(tarOf(path, join(dir, "utf8.tar"), { format: "posix" })));
    assert.equal(result.name, "d\u00efsk-\u00e9t\u00e9.raw");
    assert.ok(result.content.equals(disk));
  });

  it("refuses one more level inside (a compressed member, a tar in the tar) with nested-container", async () => {
    const path = join(dir, "inner.raw");
    writeFileSync(path, disk);
    const inner = compress(path, "xz");
    const tarOfXz = compress(tarOf(inner, join(dir, "xz-in.tar")), "gz");
    const tarInTar = tarOf(tarOf(path, join(dir, "inner.tar")), join(dir, "outer.tar"));
    const xzInGz = compress(inner, "gz", join(dir, "double.xz.gz"));
    for (const source of [tarOfXz, tarInTar, xzInGz]) {
      const error = await failure(convert({ source, destination: join(dir, "nested.raw"), to: "raw" }));
      assert.equal(error.code, "image-rejected");
      assert.deepEqual(
        error.problems.map((p) => p.code),
        ["nested-container"],
        error.message,
      );
    }
  });
});
