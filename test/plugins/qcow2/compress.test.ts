import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { diskpipe } from "../../helpers/cli.ts";
import { makeRaw, qemuImg, tempDir } from "../../helpers/images.ts";

const MiB = 1024 * 1024;

/** qemu-img info of an output, with the format given. */
const info = (path: string, format: string) =>
  JSON.parse(qemuImg("info", "--output=json", "-f", format, path)) as {
    "format-specific"?: { data?: { "compression-type"?: string; "create-type"?: string } };
  };

describe("convert --compress (real CLI, real qemu-img)", () => {
  const { dir, cleanup } = tempDir("diskpipe-compress-");
  let raw = "";
  before(() => {
    raw = makeRaw(join(dir, "disk.raw"), 32 * MiB);
    // 8 MiB of text: it compresses, so a compressed output is visibly smaller.
    execFileSync("sh", [
      "-c",
      `yes diskpipe | head -c ${8 * MiB} | dd of=${raw} bs=1M seek=8 conv=notrunc status=none`,
    ]);
  });
  after(cleanup);

  it("writes a zstd-compressed qcow2 (qemu-img 5.1 and later) that reads as the source and is smaller", () => {
    const plain = join(dir, "plain.qcow2");
    const packed = join(dir, "packed.qcow2");
    assert.equal(diskpipe(["convert", raw, plain, "--to", "qcow2"]).status, 0);
    const run = diskpipe(["convert", raw, packed, "--to", "qcow2", "--compress"]);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(info(packed, "qcow2")["format-specific"]?.data?.["compression-type"], "zstd");
    qemuImg("compare", "-f", "raw", "-F", "qcow2", raw, packed);
    assert.ok(statSync(packed).size * 2 < statSync(plain).size, `${statSync(packed).size} vs ${statSync(plain).size}`);
  });

  it("writes vmdk as streamOptimized, and refuses another subformat with --compress", () => {
    const packed = join(dir, "packed.vmdk");
    const run = diskpipe(["convert", raw, packed, "--to", "vmdk", "--compress"]);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(info(packed, "vmdk")["format-specific"]?.data?.["create-type"], "streamOptimized");
    qemuImg("compare", "-f", "raw", "-F", "vmdk", raw, packed);
    const sparse = diskpipe([
      "convert",
      raw,
      join(dir, "s.vmdk"),
      "--to",
      "vmdk",
      "--compress",
      "--subformat",
      "monolithicSparse",
    ]);
    assert.equal(sparse.status, 2);
    assert.match(sparse.stderr, /--compress writes vmdk as streamOptimized, not monolithicSparse/);
    assert.ok(!existsSync(join(dir, "s.vmdk")));
  });

  it("refuses --compress for a format that cannot be compressed, before reading anything (exit 2)", () => {
    const run = diskpipe(["convert", raw, join(dir, "out.vhd"), "--to", "vhd", "--compress"]);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /cannot compress vhd output \(--compress: qcow2, vmdk\)/);
    assert.ok(!existsSync(join(dir, "out.vhd")));
  });
});
