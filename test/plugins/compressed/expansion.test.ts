import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPipeline } from "../../../src/mod.ts";
import { compressed } from "../../../src/plugins/index.ts";
import { failure } from "../../helpers/failure.ts";
import { tempDir } from "../../helpers/images.ts";
import { leftovers, missingTools } from "./helpers.ts";

const MiB = 1024 * 1024;

describe(
  "compressed: without --max-size, the data an image decompresses to is bounded by its compressed size",
  { skip: missingTools },
  () => {
    const { dir, cleanup } = tempDir("diskpipe-compressed-expansion-");
    const work = join(dir, "work");
    let bomb = "";
    before(() => {
      // 128 MiB of one non-zero byte: about 150 bytes of bzip2, and no header bound (it is raw).
      bomb = join(dir, "bomb.bz2");
      writeFileSync(bomb, execFileSync("sh", ["-c", "head -c 134217728 /dev/zero | tr '\\0' A | bzip2 -9 -c"]));
    });
    after(cleanup);

    it("refuses a tiny stream that writes more data than 64 MiB plus 1000 times its size, leaving nothing", async () => {
      const pipeline = createPipeline({ workDir: work, plugins: [compressed()] });
      const destination = join(dir, "bomb.qcow2");
      const error = await failure(pipeline.run({ source: bomb, destination, to: "qcow2" }));
      assert.equal(error.code, "image-rejected", error.message);
      assert.deepEqual(
        error.problems.map((p) => p.code),
        ["decompression-bomb"],
      );
      assert.match(error.message, /set --max-size/);
      assert.ok(!existsSync(destination));
      assert.deepEqual(leftovers(work), []);
    });

    it("takes the same stream under an explicit --max-size, or a larger maxExpansion from the operator", async () => {
      const limited = createPipeline({ workDir: work, plugins: [compressed()], maxSize: 256 * MiB });
      const one = await limited.run({ source: bomb, destination: join(dir, "limited.raw"), to: "raw" });
      assert.equal(one.virtualSize, 128 * MiB);
      const lax = createPipeline({ workDir: work, plugins: [compressed({ maxExpansion: 10_000_000 })] });
      const two = await lax.run({ source: bomb, destination: join(dir, "lax.raw"), to: "raw" });
      assert.equal(two.virtualSize, 128 * MiB);
    });
  },
);
