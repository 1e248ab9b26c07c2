import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { convert, createPipeline } from "../../../src/mod.ts";
import { diskpipe } from "../../helpers/cli.ts";
import { failure } from "../../helpers/failure.ts";
import { listDir, makeImage, makeRaw, sameDisk, tempDir } from "../../helpers/images.ts";
import { compress, missingTools, tarOf } from "./helpers.ts";

const MiB = 1024 * 1024;
const KINDS = ["gz", "xz", "zst", "bz2", "tar", "tar.gz"] as const;

describe("the compressed plugin converts every kind (real tools, real CLI)", { skip: missingTools }, () => {
  const { dir, cleanup } = tempDir("diskpipe-compressed-");
  const made: Record<string, Record<string, string>> = { raw: {}, qcow2: {} };
  let raw = "";
  let qcow2 = "";
  before(() => {
    raw = makeRaw(join(dir, "disk.raw"), 6 * MiB);
    qcow2 = makeImage(raw, "qcow2", join(dir, "disk.qcow2"));
    for (const [format, path] of [
      ["raw", raw],
      ["qcow2", qcow2],
    ] as const) {
      for (const kind of ["gz", "xz", "zst", "bz2"] as const) made[format][kind] = compress(path, kind);
      made[format].tar = tarOf(path, join(dir, `${format}.tar`));
      made[format]["tar.gz"] = compress(made[format].tar, "gz", join(dir, `${format}.tar.gz`));
    }
  });
  after(cleanup);

  for (const format of ["raw", "qcow2"] as const) {
    for (const kind of KINDS) {
      it(`${kind} of a ${format} image, through the CLI, named misleadingly`, () => {
        // Detection goes by the bytes: the name says vmdk.
        const source = join(dir, `${format}-${kind.replace(".", "-")}-disguised.vmdk`);
        copyFileSync(made[format][kind], source);
        const out = join(dir, `cli-${format}-${kind}.qcow2`);
        const run = diskpipe(["convert", source, out, "--to", "qcow2", "--json"]);
        assert.equal(run.status, 0, run.stderr);
        assert.equal(JSON.parse(run.stdout).from, format);
        assert.ok(sameDisk(raw, "raw", out, "qcow2"), `${out} differs from the original`);
      });

      it(`${kind} of a ${format} image, through the API`, async () => {
        const out = join(dir, `api-${format}-${kind}.raw`);
        const result = await convert({ source: made[format][kind], destination: out, to: "raw" });
        assert.equal(result.from, format);
        assert.equal(result.virtualSize, 6 * MiB);
        assert.ok(sameDisk(raw, "raw", out, "raw"));
      });
    }
  }

  it("a matching --container claim converts; --from names the image inside", () => {
    for (const [kind, claim] of [
      ["xz", "xz"],
      ["zst", "zstd"],
      ["bz2", "bz2"],
      ["gz", "gz"],
      ["tar", "tar"],
      ["tar.gz", "gz"],
    ] as const) {
      const out = join(dir, `claimed-${kind}.raw`);
      const run = diskpipe(["convert", made.qcow2[kind], out, "--container", claim, "--from", "qcow2", "--to", "raw"]);
      assert.equal(run.status, 0, `${kind}: ${run.stderr}`);
      assert.ok(sameDisk(raw, "raw", out, "raw"));
    }
    const unclaimedContainer = join(dir, "from-only.raw");
    const run = diskpipe(["convert", made.qcow2.xz, unclaimedContainer, "--from", "qcow2", "--to", "raw"]);
    assert.equal(run.status, 0, run.stderr);
    assert.ok(sameDisk(raw, "raw", unclaimedContainer, "raw"));
  });

  it("--from compressed claims any kind; concatenated gzip members and xz streams are one image; trailing garbage is corrupt", async () => {
    const claimed = join(dir, "from-compressed.raw");
    const run = diskpipe(["convert", made.qcow2.bz2, claimed, "--from", "compressed", "--to", "raw"]);
    assert.equal(run.status, 0, run.stderr);
    assert.ok(sameDisk(raw, "raw", claimed, "raw"));
    const bytes = readFileSync(raw);
    for (const [kind, pack] of [
      ["gz", gzipSync],
      ["xz", (b: Buffer) => execFileSync("xz", ["-c", "-T1"], { input: b })],
    ] as const) {
      const joined = join(dir, `joined.raw.${kind}`);
      writeFileSync(joined, Buffer.concat([pack(bytes.subarray(0, 2 * MiB)), pack(bytes.subarray(2 * MiB))]));
      const out = join(dir, `joined-${kind}.raw`);
      await convert({ source: joined, destination: out, to: "raw" });
      assert.ok(sameDisk(raw, "raw", out, "raw"), kind);
    }
    const garbage = join(dir, "garbage.gz");
    writeFileSync(garbage, Buffer.concat([readFileSync(made.raw.gz), Buffer.from("not a gzip member")]));
    const error = await failure(convert({ source: garbage, destination: join(dir, "garbage.raw"), to: "raw" }));
    assert.deepEqual(
      error.problems.map((p) => p.code),
      ["compressed-corrupt"],
    );
  });

  it("a --container claim the bytes do not match is refused with container-mismatch, nothing written", () => {
    for (const [kind, claim] of [
      ["xz", "gz"],
      ["gz", "zst"],
      ["tar.gz", "tar"],
      ["tar", "bz2"],
    ] as const) {
      const out = join(dir, `mismatch-${kind}.raw`);
      const run = diskpipe(["convert", made.raw[kind], out, "--container", claim, "--to", "raw"]);
      assert.equal(run.status, 3, run.stderr);
      assert.match(run.stderr, /claimed to be .* but is .*\[container-mismatch\]/);
      assert.equal(
        run.stderr
          .trim()
          .split("\n")
          .filter((line) => line.startsWith("diskpipe:")).length,
        1,
      );
      assert.ok(!listDir(dir).includes(`mismatch-${kind}.raw`));
    }
    const plain = diskpipe(["convert", raw, join(dir, "plain.raw"), "--container", "xz", "--to", "raw"]);
    assert.equal(plain.status, 3, plain.stderr);
    assert.match(plain.stderr, /neither compressed nor a tar archive \[container-mismatch\]/);
    const fromCompressed = diskpipe(["convert", raw, join(dir, "plain2.raw"), "--from", "compressed", "--to", "raw"]);
    assert.equal(fromCompressed.status, 3, fromCompressed.stderr);
    assert.match(
      fromCompressed.stderr,
      /claimed to be compressed but is neither compressed nor a tar archive \[container-mismatch\]/,
    );
  });

  it("--from naming the wrong inner format is a format-mismatch of the image inside", async () => {
    const error = await failure(
      convert({ source: made.qcow2.zst, destination: join(dir, "wrong.raw"), to: "raw", from: "vmdk" }),
    );
    assert.equal(error.code, "format-mismatch");
    assert.match(error.message, /claimed to be vmdk but is qcow2/);
  });

  it("convert --help names the new containers", () => {
    const run = diskpipe(["convert", "--help"]);
    assert.equal(run.status, 0);
    assert.match(run.stdout, /--container <kind>[\s\S]*gz, xz, zst, bz2, tar/);
  });

  it("is a standard format plugin: a pipeline has it by default, and cannot write it", () => {
    const work = join(dir, "work-default");
    assert.ok(createPipeline({ workDir: work }).formats.names().includes("compressed"));
    const run = diskpipe(["convert", raw, join(dir, "x.out"), "--to", "compressed"]);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /cannot write compressed/);
  });
});
