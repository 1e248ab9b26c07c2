import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { diskpipe, pathWithoutQemu } from "../helpers/cli.ts";
import { makeImage, makeRaw, qemuImg, tempDir } from "../helpers/images.ts";

describe("diskpipe inspect and info", () => {
  const { dir, cleanup } = tempDir();
  let qcow2 = "";
  let backing = "";
  before(() => {
    qcow2 = makeImage(makeRaw(join(dir, "a.raw"), 2 * 1024 * 1024), "qcow2", join(dir, "a.qcow2"));
    backing = join(dir, "b.qcow2");
    qemuImg("create", "-f", "qcow2", "-b", qcow2, "-F", "qcow2", backing);
  });
  after(cleanup);

  it("prints one JSON object for one file, with format, virtualSize, safe and problems", () => {
    const run = diskpipe(["inspect", qcow2, "--json"]);
    assert.equal(run.status, 0, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.equal(report.format, "qcow2");
    assert.equal(report.virtualSize, 2 * 1024 * 1024);
    assert.equal(report.safe, true);
    assert.deepEqual(report.problems, []);
  });

  it("prints an array for several files and exits 3 when any is rejected", () => {
    const run = diskpipe(["inspect", qcow2, backing, "--json"]);
    assert.equal(run.status, 3);
    const reports = JSON.parse(run.stdout);
    assert.equal(reports.length, 2);
    assert.equal(reports[1].safe, false);
    assert.ok(reports[1].problems.some((p: { code: string }) => p.code === "qcow2-backing-file"));
  });

  it("checks a claimed format and a size bound", () => {
    const claimed = diskpipe(["inspect", qcow2, "--format", "vmdk", "--json"]);
    assert.equal(claimed.status, 3);
    assert.ok(JSON.parse(claimed.stdout).problems.some((p: { code: string }) => p.code === "format-mismatch"));
    const big = diskpipe(["inspect", qcow2, "--max-size", "1M"]);
    assert.equal(big.status, 3);
    assert.match(big.stdout, /too-large/);
  });

  it("needs no qemu-img", () => {
    const run = diskpipe(["inspect", qcow2], { env: { PATH: pathWithoutQemu(dir) } });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /a\.qcow2: qcow2 \(v3\), 2 MiB virtual, safe/);
  });

  it("exits 1 for a file that cannot be read", () => {
    const run = diskpipe(["inspect", join(dir, "missing.img")]);
    assert.equal(run.status, 1);
    assert.match(run.stdout, /missing\.img: error: cannot read .*no such file/);
  });

  it("refuses a FIFO and a character device at once (inspect and info), never waiting for a writer", () => {
    const fifo = join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    for (const path of [fifo, "/dev/zero"]) {
      const started = Date.now();
      const inspected = diskpipe(["inspect", path]);
      assert.equal(inspected.status, 1, inspected.stdout + inspected.stderr);
      assert.match(inspected.stdout, /error: cannot read .*(FIFO|character device)/);
      const info = diskpipe(["info", path]);
      assert.equal(info.status, 1, info.stderr);
      assert.match(info.stderr, /not a regular file or block device \((FIFO|character device)\) \[fetch-failed\]/);
      assert.ok(Date.now() - started < 20_000, "took too long");
    }
  });

  it("info shows qemu-img's view of an accepted image only", () => {
    const ok = diskpipe(["info", qcow2, "--json"]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout)["virtual-size"], 2 * 1024 * 1024);
    const refused = diskpipe(["info", backing]);
    assert.equal(refused.status, 3);
    assert.match(refused.stderr, /qcow2-backing-file/);
  });

  it("info says how to install qemu-img when it is missing", () => {
    const run = diskpipe(["info", qcow2], { env: { PATH: pathWithoutQemu(dir) } });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /apt-get install qemu-utils.*\[qemu-img-missing\]/);
  });
});
