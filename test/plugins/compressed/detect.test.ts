import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { openFileReader } from "../../../src/core/io/reader.ts";
import { detectCompressed, isTarHeader } from "../../../src/plugins/compressed/detect.ts";
import { buildCorpus, type CorpusImage } from "../../core/inspect/corpus.ts";
import { inspectFile } from "../../helpers/inspect.ts";
import { makeRaw, tempDir } from "../../helpers/images.ts";
import { compress, kindOf, missingTools, tarOf } from "./helpers.ts";

describe("compressed detection by magic bytes", { skip: missingTools }, () => {
  const { dir, cleanup } = tempDir("diskpipe-compressed-detect-");
  let raw = "";
  before(() => {
    raw = makeRaw(join(dir, "disk.raw"), 2 * 1024 * 1024);
  });
  after(cleanup);

  it("names each kind the real tools make, whatever the file is called", async () => {
    for (const kind of ["gz", "xz", "zst", "bz2"] as const) {
      const path = compress(raw, kind, join(dir, `looks-like.${kind === "gz" ? "qcow2" : "vmdk"}`));
      assert.equal(await kindOf(readFileSync(path)), kind);
      const found = await detectCompressed(await openFileReader(path));
      assert.deepEqual(found, { format: "compressed", variant: kind, problems: [], details: { compression: kind } });
    }
    assert.equal(await kindOf(readFileSync(tarOf(raw, join(dir, "disk.img")))), "tar");
    // The inspector, with the standard formats, calls them compressed.
    const result = await inspectFile(compress(raw, "xz", join(dir, "cloud.img")));
    assert.equal(result.format, "compressed");
    assert.equal(result.details.compression, "xz");
    assert.equal(result.safe, true);
  });

  it("takes empty streams and zstd skippable frames", async () => {
    const empty = join(dir, "empty");
    writeFileSync(empty, "");
    for (const kind of ["gz", "xz", "zst", "bz2"] as const)
      assert.equal(await kindOf(readFileSync(compress(empty, kind))), kind, kind);
    const zst = readFileSync(compress(raw, "zst"));
    const skippable = (size: number) =>
      Buffer.concat([
        Buffer.from([0x53, 0x2a, 0x4d, 0x18]),
        Buffer.from(Uint32Array.of(size).buffer),
        Buffer.alloc(size, 7),
      ]);
    assert.equal(await kindOf(Buffer.concat([skippable(16), skippable(8000), zst])), "zst");
    assert.equal(await kindOf(Buffer.concat([skippable(16), Buffer.alloc(64)])), null);
    assert.equal(
      await kindOf(Buffer.concat([skippable(2 << 20), zst])),
      null,
      "skippable frames past 1 MiB are not followed",
    );
  });

  it("does not take bytes that only start like a compressed stream", async () => {
    const gz = gzipSync(readFileSync(raw));
    const garbageAfterMagic = Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), randomBytes(4092)]);
    assert.equal(
      await kindOf(Buffer.concat([gz.subarray(0, 10), Buffer.alloc(4086, 0xff)])),
      null,
      "a gzip header over no deflate data",
    );
    // Seeded, so the count is the same in every run (random bytes took 3 of 200 once in a tally).
    let seed = 0x2545f491;
    const seeded = (length: number) =>
      Buffer.from(Array.from({ length }, () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) & 0xff));
    let taken = 0;
    for (let i = 0; i < 200; i++)
      if ((await kindOf(Buffer.concat([garbageAfterMagic.subarray(0, 10), seeded(4086)]))) !== null) taken++;
    assert.ok(taken <= 2, `${taken} of 200 random streams after a gzip header were taken`);
    const badFlags = Buffer.from(gz);
    badFlags[3] = 0x20;
    assert.equal(await kindOf(badFlags), null, "reserved FLG bits set");
    const badMethod = Buffer.from(gz);
    badMethod[2] = 7;
    assert.equal(await kindOf(badMethod), null, "CM other than deflate");
    const xz = Buffer.from(readFileSync(compress(raw, "xz")));
    xz[9] ^= 1;
    assert.equal(await kindOf(xz), null, "xz stream header CRC wrong");
    assert.equal(await kindOf(Buffer.from("BZh9\0\0\0\0\0\0\0\0")), null, "BZh without a block magic");
    assert.equal(await kindOf(Buffer.from("BZh0\x31\x41\x59\x26\x53\x59")), null, "block size 0");
    const zstd = Buffer.from(readFileSync(compress(raw, "zst")));
    zstd[4] |= 0x08;
    assert.equal(await kindOf(zstd), null, "zstd reserved bit");
    const tar = Buffer.from(readFileSync(tarOf(raw, join(dir, "t.tar"))));
    assert.equal(isTarHeader(tar), true);
    tar[0] ^= 1;
    assert.equal(isTarHeader(tar), false, "ustar magic with a wrong checksum");
    assert.equal(await kindOf(Buffer.alloc(8192)), null);
  });

  it("leaves a tar whose first member is an OVF descriptor to the appliance readers; a gzip of an .ovf is still gzip", async () => {
    const ovf = join(dir, "Appliance.OVF");
    writeFileSync(ovf, "<?xml version='1.0'?><Envelope/>\n");
    const detect = async (path: string) => detectCompressed(await openFileReader(path));
    assert.equal(await detect(tarOf(ovf, join(dir, "appliance.ova"))), null);
    const notOvf = join(dir, "disk.ovf.raw");
    writeFileSync(notOvf, "not a descriptor");
    assert.equal((await detect(tarOf(notOvf, join(dir, "disk.tar"))))?.variant, "tar", "a name with .ovf inside");
    // gzip keeps the file's name in its header (after an mtime with no zero byte): still a gzip, not an appliance.
    utimesSync(ovf, 0x61626364, 0x61626364);
    const named = join(dir, "named.gz");
    writeFileSync(named, execFileSync("gzip", ["-9", "-c", ovf]));
    assert.ok(readFileSync(named).subarray(0, 40).includes("Appliance.OVF\0"), "gzip stored the name");
    assert.equal((await detect(named))?.variant, "gz");
  });
});

describe("the compressed detector never claims the inspector corpus's images", { skip: missingTools }, () => {
  let corpusDir = { dir: "", cleanup: () => undefined as void };
  let corpus: CorpusImage[] = [];
  before(async () => {
    corpusDir = tempDir("diskpipe-compressed-corpus-");
    corpus = await buildCorpus(corpusDir.dir);
  });
  after(() => corpusDir.cleanup());

  it("finds no compressed stream or tar in any corpus image", async () => {
    assert.ok(corpus.length > 100, "the corpus was built");
    const claimed: string[] = [];
    for (const image of corpus) {
      const reader = await openFileReader(image.path);
      try {
        if (await detectCompressed(reader)) claimed.push(image.name);
      } finally {
        await reader.close();
      }
    }
    assert.deepEqual(claimed, []);
  });
});
