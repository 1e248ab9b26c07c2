import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPipeline } from "../../../src/core/pipeline.ts";
import { canSwitchUser, hasStrace, leaks, opensOf, RACE_SIZE, raceImages, raceQemu, startAttacker, type StrikePoint } from "../../helpers/attacker.ts";
import { tempDir } from "../../helpers/images.ts";

describe("local sources: what qemu-img reads is what the inspector accepted", () => {
  const { dir, cleanup } = tempDir();
  let images: ReturnType<typeof raceImages>;
  const drop = join(dir, "drop");

  before(() => {
    chmodSync(dir, 0o755);
    images = raceImages(dir);
    mkdirSync(drop, { mode: 0o777 });
    chmodSync(drop, 0o777);
  });
  after(cleanup);

  const points: StrikePoint[] = ["info-start", "after-info", "convert-start"];
  for (const when of points) {
    it(`a writer of another user holding a descriptor rewrites the header (${when}): no foreign file is read`, async (t) => {
      if (!canSwitchUser()) return t.skip("needs root");
      const source = join(drop, `${when}.qcow2`);
      const attacker = await startAttacker(dir, source, images.evil, images.good);
      const traces = mkdtempSync(join(dir, "traces-"));
      const pipeline = createPipeline({ workDir: join(dir, "work"), qemuImg: { binary: raceQemu(traces, attacker, when) } });
      const destination = join(dir, `${when}.raw`);
      try {
        await pipeline.run({ source, destination, to: "raw" });
      } finally {
        attacker.stop();
      }
      assert.ok(attacker.struck, "the attacker never struck");
      const output = readFileSync(destination);
      assert.equal(leaks(output, images.secretBytes), false, "the output holds the secret file's bytes");
      assert.ok(output.equals(Buffer.alloc(RACE_SIZE)), "the output is not the image that was inspected (an empty disk)");
      const opens = opensOf(traces, images.secret);
      assert.deepEqual(opens.lines, [], "qemu-img opened the secret file");
      if (hasStrace()) assert.ok(opens.logs >= 2, "strace logged fewer qemu-img runs than info and convert");
    });
  }
});
