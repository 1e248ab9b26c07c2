import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { extractChain } from "../../../src/plugins/xenserver-ovf/extract.ts";
import { bytesOf, expectRejected, vhdLike, workDirIn } from "./extract-helpers.ts";
import { chainEntries, listing, removeTempDirs, tarball, type TarEntry } from "./helpers.ts";

describe("extractChain", () => {
  after(removeTempDirs);

  it("extracts a gzipped chain with ./ names, a . entry and members out of order", async () => {
    const { work } = await workDirIn();
    const entries: TarEntry[] = [
      { header: { name: "./", type: "directory" } },
      ...chainEntries([vhdLike(0), vhdLike(1), vhdLike(2)], "./").reverse(),
    ];
    const path = join(work, "..", "chain.tgz");
    await writeFile(path, await tarball(entries));
    const chain = await extractChain(path, work);
    assert.equal(chain.files.length, 3);
    assert.equal(chain.bytes, 3 * 4096);
    for (const [index, file] of chain.files.entries()) {
      assert.equal(file, join(chain.dir, `${index}.vhd`));
      assert.ok((await readFile(file)).equals(vhdLike(index)));
    }
  });

  it("extracts a plain tar from a stream whose first chunk is one byte", async () => {
    const { work } = await workDirIn();
    const archive = await tarball(chainEntries([vhdLike(7, 10000)]), false);
    const chain = await extractChain(bytesOf(archive, 1), work);
    assert.ok((await readFile(chain.files[0])).equals(vhdLike(7, 10000)));
  });

  const one = vhdLike(1);
  const hostile: Array<[string, TarEntry[], RegExp]> = [
    ["a path climbing out", [{ header: { name: "../evil.vhd" }, data: one }], /climbs out/],
    ["a nested path climbing out", [{ header: { name: "./a/../../0.vhd" }, data: one }], /climbs out/],
    ["an absolute path", [{ header: { name: "/abs/0.vhd" }, data: one }], /absolute path/],
    [
      "a symbolic link",
      [{ header: { name: "0.vhd", type: "symlink", linkname: "/etc/passwd" } }],
      /symbolic link to "\/etc\/passwd"/,
    ],
    [
      "a hard link",
      [{ header: { name: "1.vhd" }, data: one }, { header: { name: "0.vhd", type: "link", linkname: "1.vhd" } }],
      /hard link/,
    ],
    [
      "a character device",
      [{ header: { name: "0.vhd", type: "character-device", devmajor: 1, devminor: 3 } }],
      /^"0\.vhd" is a character-device$/,
    ],
    [
      "a block device",
      [{ header: { name: "0.vhd", type: "block-device", devmajor: 8, devminor: 0 } }],
      /^"0\.vhd" is a block-device$/,
    ],
    ["a fifo", [{ header: { name: "0.vhd", type: "fifo" } }], /^"0\.vhd" is a fifo$/],
    [
      "a symbolic link to nowhere",
      [{ header: { name: "0.vhd", type: "symlink" } }],
      /^"0\.vhd" is a symbolic link to ""$/,
    ],
    [
      "a contiguous file",
      [{ header: { name: "0.vhd", type: "contiguous-file" }, data: one }],
      /unsupported entry type contiguous-file/,
    ],
    ["a directory", [{ header: { name: "sub/", type: "directory" } }], /is a directory/],
    [
      "0.vhd and ./0.vhd",
      [
        { header: { name: "0.vhd" }, data: one },
        { header: { name: "./0.vhd" }, data: one },
      ],
      /"\.\/0\.vhd" duplicates 0\.vhd/,
    ],
    [
      "a gap (0.vhd, 2.vhd)",
      chainEntries([one, one, one]).filter((_, i) => i !== 1),
      /^1\.vhd is missing: members must be numbered 0 to 1$/,
    ],
    ["no 0.vhd", [{ header: { name: "1.vhd" }, data: one }], /0\.vhd is missing/],
    [
      "an unexpected name",
      [
        { header: { name: "0.vhd" }, data: one },
        { header: { name: "ova.xml" }, data: one },
      ],
      /"ova\.xml" is not named N\.vhd/,
    ],
    ["a leading zero", [{ header: { name: "00.vhd" }, data: one }], /not named N\.vhd/],
    ["an empty archive", [], /holds no N\.vhd/],
  ];
  for (const [what, entries, pattern] of hostile) {
    it(`rejects ${what}`, async () => expectRejected(await tarball(entries), "archive-entry", pattern));
  }

  it("rejects more entries than allowed", async () => {
    await expectRejected(await tarball(chainEntries([one, one, one])), "archive-entry", /more than 2 entries/, {
      maxEntries: 2,
    });
  });

  it("rejects a member index beyond the entry bound", async () => {
    await expectRejected(
      await tarball([{ header: { name: "4.vhd" }, data: one }]),
      "archive-entry",
      /^"4\.vhd": a chain has at most 4 members$/,
      { maxEntries: 4 },
    );
  });

  it("rejects entries declaring more bytes than allowed, before writing them", async () => {
    await expectRejected(await tarball(chainEntries([one, one])), "archive-entry", /declare more than 6000 bytes/, {
      maxTotalBytes: 6000,
    });
  });

  it("rejects an archive that expands without bound after its last entry", async () => {
    const archive = gzipSync(Buffer.concat([await tarball(chainEntries([one]), false), Buffer.alloc(8 << 20)]));
    await expectRejected(archive, "archive-entry", /expands to more than/, { maxTotalBytes: 1 << 20, maxEntries: 2 });
  });

  it("rejects a cut-short archive as truncated", async () => {
    const archive = await tarball(chainEntries([vhdLike(3, 100_000)]));
    await expectRejected(archive.subarray(0, archive.length - 20), "truncated", /cut short/);
    const plain = await tarball(chainEntries([vhdLike(3, 100_000)]), false);
    await expectRejected(plain.subarray(0, 50_000), "truncated", /cut short/);
  });

  it("stops and removes everything when aborted", async () => {
    const { root, work } = await workDirIn();
    const controller = new AbortController();
    controller.abort();
    const archive = await tarball(chainEntries([vhdLike(1)]));
    await assert.rejects(extractChain(bytesOf(archive), work, { signal: controller.signal }), { name: "AbortError" });
    assert.deepEqual(await listing(work), []);
    assert.deepEqual(await listing(root), ["work"]);
  });

  it("rejects bytes that are neither tar nor gzip", async () => {
    await expectRejected(Buffer.alloc(2048, 0x41), "archive-entry", /not a valid tar/);
    await expectRejected(
      Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(100, 0x41)]),
      "archive-entry",
      /not a valid gzip/,
    );
  });
});
