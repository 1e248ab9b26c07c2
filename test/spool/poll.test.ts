import assert from "node:assert/strict";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createPipeline } from "../../src/create-pipeline.ts";
import { defaultConfig } from "../../src/scripting.ts";
import { watchSpool } from "../../src/spool/index.ts";
import { makeImage, makeRaw, qemuImg, sameDisk, tempDir } from "../helpers/images.ts";
import { filesIn, waitFor } from "./helpers.ts";

describe("spool with --poll, many files at once", () => {
  const { dir, cleanup } = tempDir("diskpipe-poll-");
  after(cleanup);

  it("converts and fails a batch dropped together, each exactly once, within the jobs bound", async () => {
    const raw = makeRaw(join(dir, "disk.raw"), 2 * 1024 * 1024);
    const vmdk = makeImage(raw, "vmdk", join(dir, "disk.vmdk"));
    qemuImg("create", "-q", "-f", "qcow2", join(dir, "base.qcow2"), "1M");
    qemuImg("create", "-q", "-f", "qcow2", "-b", join(dir, "base.qcow2"), "-F", "qcow2", join(dir, "evil.qcow2"));
    const root = join(dir, "spool");
    let running = 0;
    let most = 0;
    const pipeline = createPipeline({ ...(await defaultConfig()), jobs: 2 });
    pipeline.on((e) => {
      if (e.type === "queued") most = Math.max(most, ++running);
      if (e.type === "done" || e.type === "failed") running--;
    });
    const spool = await watchSpool({ root, pipeline, poll: true, settleMs: 200 });
    try {
      mkdirSync(join(root, "incoming", "qcow2", "sub"), { recursive: true });
      for (let i = 0; i < 6; i++) copyFileSync(vmdk, join(root, "incoming", "qcow2", `disk-${i}.vmdk`));
      // Same name, two target folders: both fail, neither overwrites the other in failed/.
      copyFileSync(join(dir, "evil.qcow2"), join(root, "incoming", "raw", "evil.qcow2"));
      copyFileSync(join(dir, "evil.qcow2"), join(root, "incoming", "vdi", "evil.qcow2"));
      copyFileSync(vmdk, join(root, "incoming", "qcow2", "sub", "nested.vmdk"));
      // Eight conversions two at a time: a loaded 2-core machine can take more than the usual 30 s.
      const states = () =>
        `eight jobs to finish; now ${
          spool
            .jobs()
            .map((j) => `${j.name}:${j.state}`)
            .join(" ") || "none claimed"
        }`;
      await waitFor(
        () => spool.jobs().filter((j) => j.state === "done" || j.state === "failed").length === 8 && spool.jobs(),
        states,
        90_000,
      );
      await spool.idle();
      assert.equal(spool.jobs().length, 8, "nothing claimed twice, nested folders ignored");
      assert.ok(most <= 2, `at most 2 ran at once (saw ${most})`);
      assert.deepEqual(
        filesIn(root, "done"),
        [0, 1, 2, 3, 4, 5].map((i) => `disk-${i}.qcow2`),
      );
      for (let i = 0; i < 6; i++) assert.ok(sameDisk(raw, "raw", join(root, "done", `disk-${i}.qcow2`), "qcow2"));
      const failed = filesIn(root, "failed");
      assert.equal(failed.filter((name) => name.endsWith("evil.qcow2")).length, 2, failed.join(" "));
      assert.equal(failed.filter((name) => name.endsWith("evil.qcow2.error.json")).length, 2);
      assert.deepEqual(filesIn(root, "work"), []);
      assert.deepEqual(filesIn(root, "incoming/qcow2/sub"), ["nested.vmdk"]);
    } finally {
      await spool.stop();
    }
  });
});
