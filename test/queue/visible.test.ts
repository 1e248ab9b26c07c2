import assert from "node:assert/strict";
import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { checkVisible } from "../../src/queue/visible.ts";
import { tempDir } from "../helpers/images.ts";

describe("checkVisible: what a queued job names on this worker's disks", () => {
  const { dir, cleanup } = tempDir("diskpipe-visible-");
  after(cleanup);
  const root = realpathSync(dir);
  const inDir = join(root, "in");
  const outDir = join(root, "out");
  const outside = join(root, "outside");
  for (const folder of [inDir, outDir, outside]) mkdirSync(folder);
  writeFileSync(join(inDir, "a.vmdk"), "disk");
  writeFileSync(join(outside, "secret"), "not for queue writers");
  symlinkSync(join(outside, "secret"), join(inDir, "link.vmdk"));
  symlinkSync(outside, join(outDir, "elsewhere"));
  const allow = { sources: [inDir], destinations: [outDir] };
  const code = (expected: string, pattern: RegExp) => (error: Error & { code?: string }) =>
    error.code === expected && pattern.test(error.message);

  it("accepts a source and a destination folder under the allowed directories, and leaves URLs to the allow-list", async () => {
    await checkVisible({ source: join(inDir, "a.vmdk"), destination: join(outDir, "a.qcow2") }, allow, "w1");
    await checkVisible({ source: "https://images.example/a.vmdk", destination: "store://images/a" }, allow, "w1");
  });

  it("refuses a link in an allowed folder that leads outside it, for the source and for the destination's folder", async () => {
    await assert.rejects(
      checkVisible({ source: join(inDir, "link.vmdk"), destination: join(outDir, "a.qcow2") }, allow, "w1"),
      code("usage", /worker w1 does not accept the source .*link\.vmdk: it leads outside the worker's queue\.allow/),
    );
    await assert.rejects(
      checkVisible({ source: join(inDir, "a.vmdk"), destination: join(outDir, "elsewhere", "a.qcow2") }, allow, "w1"),
      code("usage", /does not accept the destination .*elsewhere\/a\.qcow2: it leads outside/),
    );
  });

  it("a source or a destination folder this worker cannot see fails with the transfer's code, naming the worker", async () => {
    await assert.rejects(
      checkVisible({ source: join(inDir, "missing.vmdk"), destination: join(outDir, "a.qcow2") }, allow, "w1"),
      code("fetch-failed", /worker w1 cannot see the source .*missing\.vmdk \(ENOENT\)/),
    );
    await assert.rejects(
      checkVisible({ source: join(inDir, "a.vmdk"), destination: join(outDir, "no-such", "a.qcow2") }, allow, "w1"),
      code("upload-failed", /worker w1 cannot see the destination's directory .*no-such \(ENOENT\)/),
    );
  });

  it("without an allow-list no local path is accepted, even one that exists", async () => {
    await assert.rejects(
      checkVisible({ source: join(inDir, "a.vmdk"), destination: "store://images/a" }, undefined, "w1"),
      code("usage", /does not accept the source/),
    );
  });
});
