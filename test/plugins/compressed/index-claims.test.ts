import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { openFileReader } from "../../../src/core/io/reader.ts";
import type { JobSpec } from "../../../src/core/job.ts";
import { compressed } from "../../../src/plugins/compressed/index.ts";
import { tempDir } from "../../helpers/images.ts";
import { compress, missingTools, tarOf } from "./helpers.ts";

const MiB = 1024 * 1024;

/** The plugin's one format handler, as the pipeline registers it. */
function handler() {
  const [format] = compressed().formats ?? [];
  assert.ok(format, "the plugin has a format");
  return format;
}

const spec = (claim: Pick<JobSpec, "from" | "container">): JobSpec => ({
  source: "image",
  destination: "out.raw",
  to: "raw",
  ...claim,
});

describe("the compressed plugin's format handler (in-process)", { skip: missingTools }, () => {
  const { dir, cleanup } = tempDir("diskpipe-compressed-index-");
  after(cleanup);

  it("claims a job whose --container names one of its kinds, or --from compressed without a container", () => {
    const { claims } = handler();
    assert.ok(claims);
    for (const container of ["gz", "gzip", "xz", "zst", "zstd", "bz2", "bzip2", "tar", " XZ "]) {
      assert.equal(claims(spec({ container })), true, container);
      // --from then names the image inside.
      assert.equal(claims(spec({ container, from: "qcow2" })), true, `${container} --from qcow2`);
    }
    assert.equal(claims(spec({ from: "compressed" })), true);
  });

  it("leaves every other job to the other handlers: no claim, another format, another container", () => {
    const { claims } = handler();
    assert.ok(claims);
    assert.equal(claims(spec({})), false, "nothing claimed: detection decides");
    assert.equal(claims(spec({ from: "qcow2" })), false);
    assert.equal(claims(spec({ from: "compressedx" })), false);
    for (const container of ["ovf", "ova", "zip", "tar.gz", ""]) {
      assert.equal(claims(spec({ container })), false, container);
      assert.equal(claims(spec({ container, from: "compressed" })), false, `${container} --from compressed`);
    }
  });

  it("its detector names the kind of a real compressed file, and nothing in a plain one", async () => {
    const { detect } = handler();
    assert.ok(detect);
    const plain = join(dir, "plain.raw");
    writeFileSync(plain, Buffer.alloc(64 * 1024, 0x5a));
    const found = await detect(await openFileReader(compress(plain, "xz")), {});
    assert.equal(found?.format, "compressed");
    assert.equal(found?.variant, "xz");
    assert.equal(await detect(await openFileReader(plain), {}), null);
  });

  it("bounds a claimed container's download at maxFileSize + 1/64 + 1 MiB, room for the worst real compression", () => {
    const { maxArchiveSize } = handler();
    assert.ok(maxArchiveSize);
    assert.equal(maxArchiveSize(0), MiB);
    assert.equal(maxArchiveSize(64), 64 + 1 + MiB);
    assert.equal(maxArchiveSize(64 * 1024 * MiB), 65 * 1024 * MiB + MiB);
    // Incompressible data grows under every tool, and a tar adds its headers: all within the bound.
    const random = join(dir, "random.raw");
    writeFileSync(random, randomBytes(2 * MiB));
    const packed = [...(["gz", "xz", "zst", "bz2"] as const).map((kind) => compress(random, kind))];
    packed.push(compress(tarOf(random, join(dir, "random.tar")), "bz2"));
    for (const path of packed) {
      const size = statSync(path).size;
      assert.ok(size > 2 * MiB, `${path}: ${size} bytes, larger than what it holds`);
      assert.ok(size <= maxArchiveSize(2 * MiB), `${path}: ${size} bytes`);
    }
  });
});
