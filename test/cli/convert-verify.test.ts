import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { referenceContentHash } from "../helpers/content-hash.ts";
import { diskpipe, repoRoot } from "../helpers/cli.ts";
import { listDir, makeImage, makeRaw, tempDir } from "../helpers/images.ts";

describe("diskpipe convert --verify and --content-hash (the built CLI)", () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);
  const raw = makeRaw(join(dir, "disk.raw"), 4 * 1024 * 1024 + 4096, 5);
  const vdi = makeImage(raw, "vdi", join(dir, "disk.vdi"));
  const expected = referenceContentHash(readFileSync(raw));
  const work = join(dir, "work");
  const env = { TMPDIR: work };
  mkdirSync(work);

  it("--verify --json: the result carries the content hash and verified", () => {
    const run = diskpipe(["convert", vdi, join(dir, "out.qcow2"), "--to", "qcow2", "--verify", "--json"], { env });
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.equal(result.contentHash, expected);
    assert.equal(result.verified, true);
  });

  it("a corrupted output fails with verify-failed (exit 1) and leaves nothing", () => {
    const config = join(dir, "corrupt.config.mjs");
    writeFileSync(
      config,
      `import { openSync, writeSync, closeSync } from "node:fs";
import { definePlugin } from ${JSON.stringify(join(repoRoot, "dist/bundle/mod.js"))};
export default { plugins: [definePlugin({ name: "corrupt", hooks: { postConvert(ctx) {
  const fd = openSync(ctx.output.path, "r+"); writeSync(fd, Buffer.from([0x5a]), 0, 1, 7); closeSync(fd);
} } })] };
`,
    );
    const before = listDir(dir);
    const run = diskpipe(["convert", vdi, join(dir, "bad.raw"), "--to", "raw", "--verify", "--config", config], {
      env,
    });
    assert.equal(run.status, 1, run.stderr);
    assert.match(
      run.stderr,
      /^diskpipe: the output's content hash blk-sha256:[0-9a-f]{64} differs from the source's .*\[verify-failed\]$/m,
    );
    assert.deepEqual(listDir(dir), before);
    // The work root keeps no job directory (jiti's cache of the configuration may stay beside it).
    for (const root of listDir(work).filter((entry) => entry.startsWith("diskpipe")))
      assert.deepEqual(
        listDir(join(work, root)).filter((entry) => /^(job|fetch|inspect)-/.test(entry)),
        [],
      );
  });

  it("--content-hash: a match converts, a mismatch is checksum-mismatch (exit 3), a malformed value is a usage error", () => {
    const ok = diskpipe(["convert", vdi, join(dir, "pinned.raw"), "--to", "raw", "--content-hash", expected], { env });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`, ${expected}\\n$`));
    const before = listDir(dir);
    const wrong = diskpipe(
      ["convert", vdi, join(dir, "wrong.raw"), "--to", "raw", "--content-hash", `blk-sha256:${"1".repeat(64)}`],
      { env },
    );
    assert.equal(wrong.status, 3, wrong.stderr);
    assert.match(
      wrong.stderr,
      /content hash mismatch: expected blk-sha256:1{64}, got blk-sha256:[0-9a-f]{64} \[checksum-mismatch\]$/m,
    );
    assert.deepEqual(listDir(dir), before);
    const bad = diskpipe(["convert", vdi, join(dir, "bad-flag.raw"), "--to", "raw", "--content-hash", "sha256:abc"], {
      env,
    });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /\[usage\]$/m);
  });
});
