import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ImageRejectedError } from "../../../src/mod.ts";
import type { JobContext, JobSpec } from "../../../src/mod.ts";
import { xenserverOvf } from "../../../src/plugins/xenserver-ovf/index.ts";
import {
  buildChain,
  chainEntries,
  listing,
  randomWrites,
  removeTempDirs,
  rng,
  tarball,
  tempDir,
  type TarEntry,
} from "./helpers.ts";
import { buildVhd, fixChecksum, randomId } from "./vhd-writer.ts";

const MiB = 1024 * 1024;
const spec: JobSpec = { source: "chain.tgz", destination: "out.qcow2", to: "qcow2", from: "vhd", container: "ovf" };

/** A job context with just what `unpack` uses; the archive sits beside the work directory. */
async function jobFor(archive: Buffer, overrides: Partial<JobSpec> = {}) {
  const root = await tempDir();
  const workDir = join(root, "work");
  await mkdir(workDir);
  const path = join(root, "chain.tgz");
  await writeFile(path, archive);
  const progress: Array<[number, number | undefined]> = [];
  const ctx = {
    id: "test",
    spec: { ...spec, ...overrides },
    workDir,
    signal: new AbortController().signal,
    image: { path, temporary: false },
    stage: "fetch",
    warn: () => {},
    progress: (bytes: number, total?: number) => progress.push([bytes, total]),
    onCleanup: () => {},
  } as unknown as JobContext;
  return { ctx, root, workDir, progress };
}

function unpack(ctx: JobContext) {
  const format = xenserverOvf().formats![0];
  return format.unpack!(ctx);
}

async function expectRejected(archive: Buffer, code: string, pattern: RegExp): Promise<void> {
  const { ctx, root, workDir } = await jobFor(archive);
  await assert.rejects(unpack(ctx), (error: unknown) => {
    assert.ok(error instanceof ImageRejectedError, String(error));
    assert.equal(error.exitCode, 3);
    assert.deepEqual(
      error.problems.map((p) => p.code),
      [code],
    );
    assert.match(error.message, pattern);
    return true;
  });
  assert.deepEqual(await listing(workDir), [], "no partial file stays in the work directory");
  assert.deepEqual(await listing(root), ["chain.tgz", "work"], "nothing is written outside the work directory");
}

function sound(size = 3 * MiB, layers = 2) {
  const random = rng(size + layers);
  return buildChain({
    size,
    base: "dynamic",
    filler: 0xee,
    layers: Array.from({ length: layers + 1 }, () => randomWrites(random, size, 8)),
  });
}

describe("xenserverOvf plugin", () => {
  after(removeTempDirs);

  it("claims ovf containers of vhd images only", () => {
    const claims = xenserverOvf().formats![0].claims!;
    assert.equal(claims(spec), true);
    assert.equal(claims({ ...spec, from: undefined }), true);
    assert.equal(claims({ ...spec, from: "vmdk" }), false);
    assert.equal(claims({ ...spec, container: undefined }), false);
    assert.equal(xenserverOvf().name, "xenserver-ovf");
  });

  it("unpacks a chain tarball into coalesced.raw and removes the extracted VHDs", async () => {
    const { files, expected } = sound(5 * MiB + 1536, 3);
    const { ctx, workDir, progress } = await jobFor(await tarball(chainEntries(files, "./")));
    const unpacked = await unpack(ctx);
    assert.deepEqual(unpacked, { path: join(workDir, "coalesced.raw"), format: "raw" });
    assert.ok((await readFile(unpacked.path)).equals(expected));
    assert.deepEqual(await listing(workDir), ["coalesced.raw"]);
    assert.deepEqual(progress.at(-1), [expected.length, expected.length]);
  });

  it("refuses a chain larger than the job's maxSize before writing it", async () => {
    const { files } = sound(4 * MiB, 1);
    const { ctx, workDir } = await jobFor(await tarball(chainEntries(files)), { maxSize: 2 * MiB });
    await assert.rejects(
      unpack(ctx),
      (error: unknown) => error instanceof ImageRejectedError && error.problems[0].code === "too-large",
    );
    assert.deepEqual(await listing(workDir), []);
  });

  const vhd = () => sound(MiB, 0).files[0];
  const archiveCases: Array<[string, TarEntry[], RegExp]> = [
    ["../evil.vhd", [{ header: { name: "../evil.vhd" }, data: vhd() }], /climbs out/],
    ["/abs/0.vhd", [{ header: { name: "/abs/0.vhd" }, data: vhd() }], /absolute path/],
    [
      "a symlink entry",
      [{ header: { name: "0.vhd", type: "symlink", linkname: "../../etc/shadow" } }],
      /symbolic link/,
    ],
    [
      "a hardlink entry",
      [
        { header: { name: "1.vhd" }, data: vhd() },
        { header: { name: "0.vhd", type: "link", linkname: "/etc/shadow" } },
      ],
      /hard link/,
    ],
    ["a device entry", [{ header: { name: "0.vhd", type: "block-device", devmajor: 8, devminor: 0 } }], /block-device/],
    [
      "0.vhd and ./0.vhd",
      [
        { header: { name: "0.vhd" }, data: vhd() },
        { header: { name: "./0.vhd" }, data: vhd() },
      ],
      /duplicates/,
    ],
    [
      "a gap (0.vhd, 2.vhd)",
      [
        { header: { name: "0.vhd" }, data: vhd() },
        { header: { name: "2.vhd" }, data: vhd() },
      ],
      /1\.vhd is missing/,
    ],
    [
      "an unexpected name",
      [
        { header: { name: "0.vhd" }, data: vhd() },
        { header: { name: "evil.sh" }, data: Buffer.from("#!/bin/sh\n") },
      ],
      /not named N\.vhd/,
    ],
  ];
  for (const [what, entries, pattern] of archiveCases) {
    it(`rejects ${what} (archive-entry)`, async () => expectRejected(await tarball(entries), "archive-entry", pattern));
  }

  it("rejects a broken chain: parent uuid mismatch (vhd-chain)", async () => {
    const { files } = sound(MiB, 1);
    const stranger = buildVhd({ type: "dynamic", size: MiB }).bytes;
    await expectRejected(
      await tarball(chainEntries([files[0], stranger])),
      "vhd-chain",
      /0\.vhd: its parent is .* but 1\.vhd is/,
    );
  });

  it("rejects a differencing base (vhd-chain)", async () => {
    const leaf = buildVhd({ type: "differencing", size: MiB, parentId: randomId() }).bytes;
    await expectRejected(
      await tarball(chainEntries([leaf])),
      "vhd-chain",
      /0\.vhd: the base of the chain is a differencing disk/,
    );
  });

  it("rejects a size mismatch (vhd-chain)", async () => {
    const base = buildVhd({ type: "dynamic", size: 2 * MiB });
    const leaf = buildVhd({ type: "differencing", size: MiB, parentId: base.uniqueId }).bytes;
    await expectRejected(await tarball(chainEntries([leaf, base.bytes])), "vhd-chain", /0\.vhd: virtual size/);
  });

  it("rejects a bad checksum (vhd-checksum)", async () => {
    const { files } = sound(MiB, 1);
    files[1][files[1].length - 512 + 200] ^= 0xff;
    await expectRejected(await tarball(chainEntries(files)), "vhd-checksum", /1\.vhd: footer checksum mismatch/);
  });

  it("rejects a corrupt header (vhd-corrupt-header)", async () => {
    const { files } = sound(MiB, 1);
    const header = files[0].subarray(512, 1536);
    header.writeUInt32BE(12345, 32);
    fixChecksum(header, 36);
    await expectRejected(await tarball(chainEntries(files)), "vhd-corrupt-header", /0\.vhd: block size 12345/);
  });

  it("rejects a truncated VHD (truncated)", async () => {
    const { files } = sound(3 * MiB, 1);
    await expectRejected(
      await tarball(chainEntries([files[0].subarray(0, files[0].length - 1024), files[1]])),
      "truncated",
      /0\.vhd: .*(cut short|past the end)/,
    );
  });

  it("rejects a truncated archive (truncated)", async () => {
    const archive = await tarball(chainEntries(sound(MiB, 1).files));
    await expectRejected(archive.subarray(0, archive.length >> 1), "truncated", /cut short/);
  });
});
