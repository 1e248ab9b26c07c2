import assert from "node:assert/strict";
import { openSync, writeSync, closeSync, existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { registerFormats, createInspector } from "../../../src/core/inspector.ts";
import { convert, inspect } from "../../../src/mod.ts";
import { ploop } from "../../../src/plugins/index.ts";
import { diskpipe } from "../../helpers/cli.ts";
import { makeRaw, qemuImg, sameDisk, tempDir } from "../../helpers/images.ts";
import { withStandardFormats } from "../../../src/standard-formats.ts";

describe("ploop plugin", () => {
  const { dir, cleanup } = tempDir();
  let raw = "";
  before(() => {
    raw = makeRaw(join(dir, "disk.raw"), 8 * 1024 * 1024);
  });
  after(cleanup);

  it("writes ploop from the CLI and reads it back (qemu's parallels driver)", () => {
    const ploop = join(dir, "disk.ploop");
    const write = diskpipe(["convert", raw, ploop, "--to", "ploop"]);
    assert.equal(write.status, 0, write.stderr);
    assert.equal(JSON.parse(qemuImg("info", "--output=json", "-f", "parallels", ploop)).format, "parallels");
    const back = join(dir, "back.qcow2");
    const read = diskpipe(["convert", ploop, back, "--from", "ploop", "--to", "qcow2", "--json"]);
    assert.equal(read.status, 0, read.stderr);
    assert.equal(JSON.parse(read.stdout).from, "ploop");
    assert.ok(sameDisk(raw, "raw", back, "qcow2"));
  });

  it("is detected by the inspector and converted from a script", async () => {
    const ploop = join(dir, "script.ploop");
    qemuImg("convert", "-f", "raw", "-O", "parallels", raw, ploop);
    const report = await inspect(ploop);
    assert.equal(report.format, "ploop");
    assert.equal(report.virtualSize, 8 * 1024 * 1024);
    const result = await convert({ source: ploop, destination: join(dir, "script.raw"), to: "raw" });
    assert.equal(result.from, "ploop");
    assert.ok(sameDisk(raw, "raw", join(dir, "script.raw"), "raw"));
  });

  it("answers to its alias in a claim, and takes over from the core's refusal of Parallels images", async () => {
    const image = join(dir, "alias.ploop");
    qemuImg("convert", "-f", "raw", "-O", "parallels", raw, image);
    const { formats } = registerFormats([ploop()]);
    assert.equal(formats.canonicalName(" Parallels "), "ploop");
    assert.deepEqual(formats.problemCodes(), ["ploop-corrupt-header", "ploop-format-extension"]);
    const report = await createInspector(formats, dir).inspect(image, { claimed: "Parallels" });
    assert.deepEqual([report.format, report.safe, report.matches], ["ploop", true, ["ploop"]]);
    const without = await createInspector(registerFormats(withStandardFormats([])).formats, dir).inspect(image);
    assert.deepEqual(
      [without.format, without.safe, without.problems.map((p) => p.code)],
      ["parallels", false, ["unsupported-format"]],
    );
  });

  it("applies the inspector's ploop checks: a corrupt header is rejected before qemu-img sees it", () => {
    const bad = join(dir, "bad.ploop");
    qemuImg("convert", "-f", "raw", "-O", "parallels", raw, bad);
    const fd = openSync(bad, "r+");
    const huge = Buffer.alloc(4);
    huge.writeUInt32LE(0xffffffff);
    writeSync(fd, huge, 0, 4, 32); // bat_entries far past the file
    closeSync(fd);
    const out = join(dir, "bad.raw");
    const run = diskpipe(["convert", bad, out, "--to", "raw"]);
    assert.equal(run.status, 3, run.stderr);
    assert.match(run.stderr, /ploop|truncated/);
    assert.equal(existsSync(out), false);
  });
});
