import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { convert } from "../../../src/mod.ts";
import { diskpipe } from "../../helpers/cli.ts";
import { makeImage, makeRaw, sameDisk, tempDir } from "../../helpers/images.ts";

describe("ami plugin", () => {
  const { dir, cleanup } = tempDir();
  let raw = "";
  before(() => {
    raw = makeRaw(join(dir, "disk.raw"), 2 * 1024 * 1024);
  });
  after(cleanup);

  it("takes raw and qcow2 as decided by detection (CLI)", () => {
    const qcow2 = makeImage(raw, "qcow2", join(dir, "disk.qcow2"));
    for (const [source, format] of [
      [raw, "raw"],
      [qcow2, "qcow2"],
    ]) {
      const out = join(dir, `${format}-ami.vmdk`);
      const run = diskpipe(["convert", source, out, "--from", "ami", "--to", "vmdk", "--json"]);
      assert.equal(run.status, 0, run.stderr);
      assert.equal(JSON.parse(run.stdout).from, format);
      assert.ok(sameDisk(raw, "raw", out, "vmdk"));
    }
  });

  it("rejects anything else with format-mismatch (script)", async () => {
    const vdi = makeImage(raw, "vdi", join(dir, "disk.vdi"));
    await assert.rejects(
      convert({ source: vdi, destination: join(dir, "no.raw"), to: "raw", from: "ami" }),
      (error: Error & { code?: string; exitCode?: number }) => {
        assert.equal(error.code, "format-mismatch");
        assert.equal(error.exitCode, 3);
        return true;
      },
    );
  });

  it("cannot be written", () => {
    const run = diskpipe(["convert", raw, join(dir, "x.ami"), "--to", "ami"]);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /cannot write ami/);
  });
});
