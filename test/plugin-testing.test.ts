import assert from "node:assert/strict";
import { copyFileSync, openSync, writeSync, closeSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { expectVerdict, inspectWithPlugins } from "../src/plugin-testing.ts";
import { ploop } from "../src/plugins/index.ts";
import { makeRaw, qemuImg, tempDir } from "./helpers/images.ts";

const SIZE = 8 * 1024 * 1024;

describe("diskpipe/testing: a plugin's detector against a file", () => {
  const { dir, cleanup } = tempDir();
  const good = join(dir, "disk.ploop");
  const bad = join(dir, "bad.ploop");
  before(() => {
    qemuImg("convert", "-f", "raw", "-O", "parallels", makeRaw(join(dir, "disk.raw"), SIZE), good);
    copyFileSync(good, bad);
    const fd = openSync(bad, "r+");
    writeSync(fd, Buffer.from([3, 0, 0, 0]), 0, 4, 16);
    closeSync(fd);
  });
  after(cleanup);

  it("resolves with the verdict when it is the expected one", async () => {
    const result = await expectVerdict(ploop(), good, {
      format: "ploop",
      safe: true,
      virtualSize: SIZE,
      variant: "ext",
      problems: [],
    });
    assert.deepEqual(result.matches, ["ploop"]);
    await expectVerdict(ploop(), bad, { format: "ploop", safe: false, problems: ["ploop-corrupt-header"] });
  });

  it("throws naming every difference and the problems found", async () => {
    await assert.rejects(
      expectVerdict(ploop(), bad, { format: "ploop", safe: true, virtualSize: 1 }),
      (error: Error) => {
        assert.match(
          error.message,
          /^the verdict on .*bad\.ploop is not the expected one: safe: expected true, got false; virtualSize: expected 1, got 8388608 \(problems: ploop-corrupt-header: ploop header is corrupt: version 3 is not 2\)$/,
        );
        return true;
      },
    );
    await assert.rejects(
      expectVerdict(ploop(), good, { format: "raw", safe: true }),
      /format: expected "raw", got "ploop" \(problems: none\)/,
    );
  });

  it("inspects with the standard formats and the plugins' detectors, aliases and claims, as a pipeline would", async () => {
    assert.equal((await inspectWithPlugins([ploop()], good, { claimed: "parallels" })).safe, true);
    const without = await inspectWithPlugins([], good);
    assert.deepEqual([without.format, without.problems.map((p) => p.code)], ["parallels", ["unsupported-format"]]);
  });
});
