import assert from "node:assert/strict";
import { readFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { after, describe, it } from "node:test";
import { extractChain, type ExtractOptions } from "../../../src/plugins/xenserver-ovf/extract.ts";
import { bytesOf, expectRejected, patchHeader, vhdLike, workDirIn } from "./extract-helpers.ts";
import { chainEntries, listing, removeTempDirs, tarball, type TarEntry } from "./helpers.ts";

const one = vhdLike(1);

/** Extracts, then checks what is on disk: one fresh `vhd-chain-*` directory in `work` holding exactly `0.vhd` … */
async function expectExtracted(
  archive: Buffer,
  members: readonly Buffer[],
  options: ExtractOptions = {},
): Promise<void> {
  const { root, work } = await workDirIn();
  const chain = await extractChain(bytesOf(archive, 4096), work, options);
  assert.equal(dirname(chain.dir), work);
  assert.match(basename(chain.dir), /^vhd-chain-/);
  assert.deepEqual(await listing(root), ["work"], "nothing is written beside the work directory");
  assert.deepEqual(await listing(work), [basename(chain.dir)]);
  const names = members.map((_, index) => `${index}.vhd`);
  assert.deepEqual(await listing(chain.dir), [...names].sort());
  assert.deepEqual(
    chain.files,
    names.map((name) => join(chain.dir, name)),
  );
  assert.equal(
    chain.bytes,
    members.reduce((sum, member) => sum + member.length, 0),
  );
  for (const [index, member] of members.entries()) {
    assert.ok((await readFile(chain.files[index])).equals(member), `${index}.vhd holds its entry's bytes`);
    assert.equal((await stat(chain.files[index])).mode & 0o077, 0, `${index}.vhd is private`);
  }
}

describe("extractChain bounds", () => {
  after(removeTempDirs);

  it("accepts exactly maxEntries entries, the . entry included", async () => {
    const entries: TarEntry[] = [{ header: { name: ".", type: "directory" } }, ...chainEntries([one, one])];
    await expectExtracted(await tarball(entries), [one, one], { maxEntries: 3 });
    await expectRejected(await tarball(entries), "archive-entry", "more than 2 entries", { maxEntries: 2 });
  });

  it("accepts members declaring exactly maxTotalBytes, and not one byte more", async () => {
    const members = [vhdLike(1), vhdLike(2, 4095)];
    await expectExtracted(await tarball(chainEntries(members)), members, { maxTotalBytes: 8191 });
    await expectRejected(
      await tarball(chainEntries(members)),
      "archive-entry",
      "entries declare more than 8190 bytes",
      { maxTotalBytes: 8190 },
    );
  });

  it("lets the tar stream exceed the members by (maxEntries + 1) × 64 KiB + 1 MiB, and not one block more", async () => {
    const options = { maxEntries: 2, maxTotalBytes: 8192 };
    const limit = 8192 + 3 * 65536 + 1024 * 1024;
    const plain = await tarball(chainEntries([vhdLike(5, 8192)]), false);
    const padded = (length: number) => Buffer.concat([plain, Buffer.alloc(length - plain.length)]);
    await expectExtracted(padded(limit), [vhdLike(5, 8192)], options);
    await expectRejected(
      padded(limit + 512),
      "archive-entry",
      `the archive expands to more than ${limit} bytes`,
      options,
    );
  });

  it("numbers members past 9 (0.vhd … 10.vhd)", async () => {
    const members = Array.from({ length: 11 }, (_, index) => vhdLike(index, 512));
    await expectExtracted(await tarball(chainEntries(members).reverse()), members);
  });

  for (const name of [
    "0.vhdx",
    "0.vhd.gz",
    "0.vhd/",
    "1a.vhd",
    "0.VHD",
    ".0.vhd",
    "a/0.vhd",
    "-1.vhd",
    "1234567.vhd",
  ]) {
    it(`refuses the member name ${JSON.stringify(name)}`, async () => {
      const entries: TarEntry[] = [
        { header: { name: "0.vhd" }, data: one },
        { header: { name }, data: one },
      ];
      await expectRejected(await tarball(entries), "archive-entry", /is not named N\.vhd$|is a directory$/);
    });
  }

  it("accepts a bare . directory entry", async () => {
    await expectExtracted(await tarball([{ header: { name: ".", type: "directory" } }, ...chainEntries([one])]), [one]);
  });

  it("shows a refused name of 200 characters whole and a longer one cut to 200 and …", async () => {
    const exact = "a".repeat(200);
    await expectRejected(
      await tarball([{ header: { name: exact }, data: one }]),
      "archive-entry",
      `"${exact}" is not named N.vhd`,
    );
    const long = `${"b".repeat(200)}${"c".repeat(100)}`;
    await expectRejected(
      await tarball([{ header: { name: long }, data: one }]),
      "archive-entry",
      `"${"b".repeat(200)}…" is not named N.vhd`,
    );
  });

  it("shows a refused name as it is, even when it reads like a tar reader's error", async () => {
    const name = "Invalid header: tar header.vhd";
    await expectRejected(
      await tarball([{ header: { name }, data: one }]),
      "archive-entry",
      `"${name}" is not named N.vhd`,
    );
  });

  it("refuses an entry type the tar reader does not know (GNU sparse)", async () => {
    const sparse = patchHeader(await tarball(chainEntries([one]), false), 0, (header) => {
      header[156] = "S".charCodeAt(0);
    });
    await expectRejected(sparse, "archive-entry", '"0.vhd" has unsupported entry type null');
  });

  describe("a plain tar whose first bytes are half of gzip's magic", () => {
    for (const [what, first] of [
      ["0x1f", [0x1f, 0x41]],
      ["0x8b second", [0x41, 0x8b]],
    ] as const) {
      it(`is read as tar (${what})`, async () => {
        const withPax = await tarball([{ header: { name: "0.vhd", pax: { comment: "exported" } }, data: one }], false);
        assert.equal(withPax.subarray(0, 9).toString(), "PaxHeader");
        const archive = patchHeader(withPax, 0, (header) => {
          header[0] = first[0];
          header[1] = first[1];
        });
        await expectExtracted(archive, [one]);
      });
    }
  });
});
