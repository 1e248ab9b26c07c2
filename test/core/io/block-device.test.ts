import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { closeSync, ftruncateSync, openSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { SinkTarget } from "../../../src/core/io/types.ts";
import { createPipeline } from "../../../src/create-pipeline.ts";
import { definePlugin } from "../../../src/core/plugin.ts";
import { makeImage, makeRaw, sameDisk, tempDir } from "../../helpers/images.ts";
import { requirement } from "../../helpers/requirement.ts";

const MiB = 1024 * 1024;

function sparseFile(path: string, size: number): string {
  const fd = openSync(path, "w");
  ftruncateSync(fd, size);
  closeSync(fd);
  return path;
}

/** Attaches `file` to a free loop device; undefined when this process may not. */
function attachLoop(file: string): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const result = spawnSync("losetup", ["-f", "--show", file], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

const probe = tempDir("diskpipe-loop-probe-");
const probeDevice = attachLoop(sparseFile(join(probe.dir, "probe.img"), MiB));
if (probeDevice) spawnSync("losetup", ["-d", probeDevice]);
probe.cleanup();
const skip = requirement(probeDevice ? false : "needs root and a free loop device (losetup -f --show FILE)");

describe("block device sink", { skip }, () => {
  const { dir, cleanup } = tempDir();
  let device = "";
  let raw = "";
  let qcow2 = "";
  const backing = join(dir, "backing.img");

  before(() => {
    raw = makeRaw(join(dir, "disk.raw"), 6 * MiB);
    qcow2 = makeImage(raw, "qcow2", join(dir, "disk.qcow2"));
    sparseFile(backing, 8 * MiB);
    device = attachLoop(backing) ?? assert.fail("losetup failed");
  });
  after(() => {
    if (device) spawnSync("losetup", ["-d", device]);
    cleanup();
  });

  it("writes in place with -n and cache mode none (O_DIRECT), and the data lands", async () => {
    let argv: string[] = [];
    let target: SinkTarget | undefined;
    const watch = definePlugin({
      name: "watch",
      enforce: "post",
      hooks: {
        preConvert(plan, ctx) {
          argv = ctx.qemu.convertCommand(plan);
          target = { path: plan.output.path, blockDevice: true, directIo: plan.flags.cache === "none" };
        },
      },
    });
    const pipeline = createPipeline({ workDir: join(dir, "work"), plugins: [watch] });
    const result = await pipeline.run({ source: qcow2, destination: device, to: "raw" });
    assert.equal(result.destination, device);
    assert.equal(target?.path, device, "converted straight into the device, no temporary name");
    assert.ok(target?.directIo, "the loop device accepts O_DIRECT");
    assert.deepEqual(argv.slice(argv.indexOf("-t"), argv.indexOf("-t") + 2), ["-t", "none"]);
    assert.ok(argv.includes("-n"), argv.join(" "));
    assert.ok(sameDisk(raw, "raw", device, "raw"), "the device does not hold the image");
    spawnSync("sync");
    assert.ok(sameDisk(raw, "raw", backing, "raw"), "the data did not reach the loop device's backing file");
  });

  it("refuses an image larger than the device before converting", async () => {
    const big = makeImage(makeRaw(join(dir, "big.raw"), 16 * MiB), "qcow2", join(dir, "big.qcow2"));
    const pipeline = createPipeline({ workDir: join(dir, "work") });
    await assert.rejects(
      pipeline.run({ source: big, destination: device, to: "raw" }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, "no-space");
        assert.match(error.message, /holds 8 MiB, the image needs 16 MiB/);
        return true;
      },
    );
  });
});
