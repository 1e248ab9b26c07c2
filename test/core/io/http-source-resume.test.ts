import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { createPipeline } from "../../../src/create-pipeline.ts";
import { definePlugin } from "../../../src/core/plugin.ts";
import { failure, MiB } from "../../helpers/failure.ts";
import { sameDisk } from "../../helpers/images.ts";
import { sha, useHttpSourceFixture } from "./http-source-fixture.ts";

describe("http source: resumed, restarted and abandoned downloads", () => {
  const { out, server, images, config, leftovers } = useHttpSourceFixture();

  it("resumes a dropped connection with a Range request and keeps the hash right", async () => {
    const pipeline = createPipeline(config());
    const before = server.requests("/drop.raw").length;
    const result = await pipeline.run({
      source: server.url("/drop.raw"),
      destination: join(out, "resumed.raw"),
      to: "raw",
      checksum: `sha256:${sha(images.raw)}`,
    });
    const seen = server.requests("/drop.raw").slice(before);
    assert.equal(seen.length, 2);
    assert.equal(seen[0].range, undefined);
    assert.equal(seen[1].range, `bytes=${1 * MiB + 17}-`);
    assert.equal(seen[1].ifRange, '"v1"');
    assert.equal(result.sourceHash, `sha256:${sha(images.raw)}`);
    assert.ok(
      result.warnings.some((w) => /interrupted at/.test(w)),
      result.warnings.join("; "),
    );
    assert.ok(sameDisk(images.raw, "raw", join(out, "resumed.raw"), "raw"));
    assert.deepEqual(leftovers(), []);
  });

  it("reads again from the start, with a fresh hash, when the server ignores Range", async () => {
    const pipeline = createPipeline(config());
    const result = await pipeline.run({
      source: server.url("/norange.raw"),
      destination: join(out, "restarted.raw"),
      to: "raw",
    });
    assert.equal(server.requests("/norange.raw").length, 2);
    assert.equal(result.sourceHash, `sha256:${sha(images.raw)}`);
    assert.ok(
      result.warnings.some((w) => /ignored the Range request/.test(w)),
      result.warnings.join("; "),
    );
    assert.ok(sameDisk(images.raw, "raw", join(out, "restarted.raw"), "raw"));
  });

  describe("raw claimed images.raw, converted to raw: straight into the destination", () => {
    const engineOf = () => {
      const seen: string[] = [];
      const plugin = definePlugin({
        name: "engine",
        enforce: "post",
        hooks: { preConvert: (plan) => void seen.push(plan.engine) },
      });
      return { seen, plugin };
    };

    it("writes the download into the output, sparse, with no temporary copy and no second pass", async () => {
      const { seen, plugin } = engineOf();
      const pipeline = createPipeline(config({ plugins: [plugin] }));
      const destination = join(out, "direct.raw");
      const result = await pipeline.run({
        source: server.url("/disk.raw"),
        destination,
        to: "raw",
        from: "raw",
        checksum: `sha256:${sha(images.raw)}`,
      });
      assert.deepEqual(seen, ["done"], "the output was written again after the download");
      assert.equal(result.sourceHash, `sha256:${sha(images.raw)}`);
      assert.ok(readFileSync(destination).equals(readFileSync(images.raw)));
      const { size, blocks } = statSync(destination);
      assert.ok(blocks * 512 < size / 2, `not sparse: ${blocks * 512} bytes allocated of ${size}`);
      assert.deepEqual(leftovers(), []);
    });

    it("compares a restarted download with the sparse bytes already written", async () => {
      const destination = join(out, "direct-restarted.raw");
      const result = await createPipeline(config()).run({
        source: server.url("/norange-direct.raw"),
        destination,
        to: "raw",
        from: "raw",
      });
      assert.equal(result.sourceHash, `sha256:${sha(images.raw)}`);
      assert.ok(
        result.warnings.some((w) => /ignored the Range request/.test(w)),
        result.warnings.join("; "),
      );
      assert.ok(readFileSync(destination).equals(readFileSync(images.raw)));
    });

    it("refuses a images.qcow2 claimed images.raw, and a wrong checksum, leaving no destination and no temporary file", async () => {
      const pipeline = createPipeline(config());
      const mismatch = await failure(
        pipeline.run({
          source: server.url("/disk.qcow2"),
          destination: join(out, "claimed.raw"),
          to: "raw",
          from: "raw",
        }),
      );
      assert.equal(mismatch.code, "format-mismatch");
      assert.equal(mismatch.exitCode, 3);
      const wrong = await failure(
        pipeline.run({
          source: server.url("/disk.raw"),
          destination: join(out, "wrongsum.raw"),
          to: "raw",
          from: "raw",
          checksum: `sha256:${"0".repeat(64)}`,
        }),
      );
      assert.equal(wrong.code, "checksum-mismatch");
      assert.ok(!existsSync(join(out, "claimed.raw")) && !existsSync(join(out, "wrongsum.raw")));
      assert.deepEqual(leftovers(), []);
    });
  });

  it("gives up after fetch.retries attempts without progress… and counts progress as a fresh start", async () => {
    const pipeline = createPipeline(config({ fetch: { timeoutMs: 5000, retries: 2, backoffMs: 5 } }));
    const before = server.requests("/flaky.raw").length;
    const result = await pipeline.run({
      source: server.url("/flaky.raw"),
      destination: join(out, "flaky.raw"),
      to: "raw",
    });
    assert.equal(server.requests("/flaky.raw").length - before, Math.ceil((6 * MiB) / (300 * 1024)));
    assert.equal(result.sourceHash, `sha256:${sha(images.raw)}`);
    server.routes.set("/flaky-nothing.raw", { file: images.raw, dropAfter: 0, dropTimes: 100 });
    const error = await failure(
      pipeline.run({ source: server.url("/flaky-nothing.raw"), destination: join(out, "never.raw"), to: "raw" }),
    );
    assert.equal(error.code, "fetch-failed");
    assert.equal(server.requests("/flaky-nothing.raw").length, 3);
    assert.match(error.message, /after 3 attempts/);
    assert.deepEqual(leftovers(), []);
  });
});
