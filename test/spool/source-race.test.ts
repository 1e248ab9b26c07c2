import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPipeline } from "../../src/create-pipeline.ts";
import { createSpool } from "../../src/spool/spool.ts";
import {
  canSwitchUser,
  hasStrace,
  leaks,
  opensOf,
  RACE_SIZE,
  raceImages,
  raceQemu,
  startAttacker,
  type StrikePoint,
} from "../helpers/attacker.ts";
import { tempDir } from "../helpers/images.ts";
import { filesIn, waitFor } from "./helpers.ts";

describe("spool: a dropper who keeps a descriptor open cannot change what qemu-img reads", () => {
  const { dir, cleanup } = tempDir();
  let images: ReturnType<typeof raceImages>;

  before(() => {
    chmodSync(dir, 0o755);
    images = raceImages(dir);
  });
  after(cleanup);

  const points: StrikePoint[] = ["after-info", "convert-start"];
  for (const when of points) {
    it(`rewritten after the claim (${when}): the output is the inspected image and no foreign file is read`, async (t) => {
      if (!canSwitchUser()) return t.skip("needs root");
      const root = join(dir, `spool-${when}`);
      const traces = mkdtempSync(join(dir, "traces-"));
      let binary = "qemu-img";
      const pipeline = () => createPipeline({ workDir: join(dir, "work"), qemuImg: { binary } });
      const spool = createSpool({ root, pipeline: pipeline(), settleMs: 100, poll: true });
      await spool.start();
      await spool.stop();
      // The drop folder is open to other users; work/ and done/ are not.
      chmodSync(join(root, "incoming", "raw"), 0o777);
      const dropped = join(root, "incoming", "raw", "disk.qcow2");
      const attacker = await startAttacker(dir, dropped, images.evil, images.good);
      binary = raceQemu(traces, attacker, when);
      const running = createSpool({ root, pipeline: pipeline(), settleMs: 100, poll: true });
      try {
        await running.start();
        await waitFor(
          () => filesIn(root, "done").includes("disk.raw") || filesIn(root, "failed").length > 0,
          "the job to end",
        );
        await running.idle();
      } finally {
        attacker.stop();
        await running.stop();
      }
      assert.deepEqual(filesIn(root, "failed"), [], "the job failed");
      assert.ok(attacker.struck, "the attacker never struck");
      const output = readFileSync(join(root, "done", "disk.raw"));
      assert.equal(leaks(output, images.secretBytes), false, "done/disk.raw holds the secret file's bytes");
      assert.ok(output.equals(Buffer.alloc(RACE_SIZE)), "done/disk.raw is not the image that was inspected");
      const opens = opensOf(traces, images.secret);
      assert.deepEqual(opens.lines, [], "qemu-img opened the secret file");
      if (hasStrace()) assert.ok(opens.logs >= 2, "strace logged fewer qemu-img runs than info and convert");
    });
  }
});
