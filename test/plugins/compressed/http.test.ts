import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPipeline } from "../../../src/mod.ts";
import { TestServer } from "../../core/io/server.ts";
import { failure } from "../../helpers/failure.ts";
import { listDir, makeBackedQcow2, makeImage, makeRaw, sameDisk, tempDir } from "../../helpers/images.ts";
import { compress, leftovers, missingTools, tarOf } from "./helpers.ts";

const MiB = 1024 * 1024;

describe("compressed images over HTTP", { skip: missingTools }, () => {
  const { dir, cleanup } = tempDir("diskpipe-compressed-http-");
  const server = new TestServer();
  let raw = "";
  before(async () => {
    await server.start();
    raw = makeRaw(join(dir, "disk.raw"), 4 * MiB);
    const qcow2 = makeImage(raw, "qcow2", join(dir, "disk.qcow2"));
    for (const kind of ["gz", "xz", "zst", "bz2"] as const)
      server.routes.set(`/disk.${kind}`, { file: compress(qcow2, kind) });
    server.routes.set("/disk.tar.gz", { file: compress(tarOf(qcow2, join(dir, "disk.tar")), "gz") });
    server.routes.set("/evil.xz", { file: compress(makeBackedQcow2(dir), "xz") });
    writeFileSync(join(dir, "noise.raw"), randomBytes(32 * MiB));
    server.routes.set("/noise.zst", { file: compress(join(dir, "noise.raw"), "zst") });
  });
  after(async () => {
    await server.stop();
    cleanup();
  });

  for (const kind of ["gz", "xz", "zst", "bz2", "tar.gz"]) {
    it(`converts a ${kind} download, its checksum taken over the compressed bytes`, async () => {
      const route = server.routes.get(`/disk.${kind}`);
      const digest = createHash("sha256")
        .update(readFileSync(route?.file ?? ""))
        .digest("hex");
      const work = join(dir, `work-${kind}`);
      const out = join(dir, `http-${kind}.vmdk`);
      const result = await createPipeline({ workDir: work }).run({
        source: server.url(`/disk.${kind}`),
        destination: out,
        to: "vmdk",
        checksum: `sha256:${digest}`,
      });
      assert.equal(result.from, "qcow2");
      assert.equal(result.sourceHash, `sha256:${digest}`);
      assert.ok(sameDisk(raw, "raw", out, "vmdk"));
      assert.deepEqual(leftovers(work), []);
    });
  }

  it("--max-size bounds the compressed download, with or without a --container claim", async () => {
    for (const container of [undefined, "zst"]) {
      const work = join(dir, `work-bound-${container ?? "detected"}`);
      const error = await failure(
        createPipeline({ workDir: work }).run({
          source: server.url("/noise.zst"),
          destination: join(dir, "noise.qcow2"),
          to: "qcow2",
          maxSize: MiB,
          ...(container && { container }),
        }),
      );
      assert.equal(error.code, "image-rejected", error.message);
      assert.deepEqual(
        error.problems.map((p) => p.code),
        ["too-large"],
        `${container ?? "detected"}: ${error.message}`,
      );
      assert.deepEqual(leftovers(work), []);
    }
  });

  it("refuses a downloaded xz holding a qcow2 with a backing file, leaving nothing", async () => {
    const work = join(dir, "work-evil");
    const error = await failure(
      createPipeline({ workDir: work }).run({
        source: server.url("/evil.xz"),
        destination: join(dir, "evil.raw"),
        to: "raw",
      }),
    );
    assert.equal(error.code, "image-rejected");
    assert.deepEqual(
      error.problems.map((p) => p.code),
      ["qcow2-backing-file"],
    );
    assert.deepEqual(leftovers(work), []);
    assert.ok(!listDir(dir).includes("evil.raw"));
  });
});
