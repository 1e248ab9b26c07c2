import assert from "node:assert/strict";
import { existsSync, openSync, readdirSync, readFileSync, writeSync, closeSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { UserConfig } from "../../../src/core/config.ts";
import { resolveConfig } from "../../../src/core/config.ts";
import { dirStore } from "../../../src/core/io/dir-store.ts";
import { defineImageService } from "../../../src/core/io/image-service.ts";
import { definePlugin } from "../../../src/core/plugin.ts";
import { createPipeline } from "../../../src/create-pipeline.ts";
import { luks } from "../../../src/plugins/luks/index.ts";
import { referenceContentHash } from "../../helpers/content-hash.ts";
import { failure, MiB } from "../../helpers/failure.ts";
import { listDir, makeImage, makeRaw, tempDir } from "../../helpers/images.ts";
import { TestServer } from "../io/server.ts";

/** Live qemu-nbd processes whose command line names a path under `root`. */
function nbdServersUnder(root: string): string[] {
  return readdirSync("/proc").flatMap((pid) => {
    if (!/^\d+$/.test(pid)) return [];
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      return args.some((arg) => arg.endsWith("qemu-nbd")) && args.some((arg) => arg.includes(root)) ? [pid] : [];
    } catch {
      return [];
    }
  });
}

/** A postConvert plugin that flips one byte of the guest data in a raw output, as a faulty converter would. */
const corrupting = definePlugin({
  name: "corrupt",
  hooks: {
    postConvert(ctx) {
      const path = ctx.output?.path;
      if (!path) return;
      const fd = openSync(path, "r+");
      try {
        const byte = Buffer.alloc(1);
        // makeRaw writes data at 0: byte 5 is guest data.
        const at = 5;
        byte[0] = readFileSync(path).subarray(at, at + 1)[0] ^ 0xff;
        writeSync(fd, byte, 0, 1, at);
      } finally {
        closeSync(fd);
      }
    },
  },
});

describe("verified conversions (verify, contentHash)", () => {
  const { dir, cleanup } = tempDir();
  const work = join(dir, "work");
  const out = join(dir, "out");
  const server = new TestServer();
  let raw = "";
  let qcow2 = "";
  let expected = "";
  const config = (extra: UserConfig = {}): UserConfig => ({ workDir: work, ...extra });
  const workLeft = () => (existsSync(join(work, "diskpipe")) ? readdirSync(join(work, "diskpipe")) : []);

  before(async () => {
    raw = makeRaw(join(dir, "disk.raw"), 5 * MiB + 1536, 3);
    qcow2 = makeImage(raw, "qcow2", join(dir, "disk.qcow2"));
    expected = referenceContentHash(readFileSync(raw));
    (await import("node:fs")).mkdirSync(out);
    await server.start();
  });
  after(async () => {
    await server.stop();
    cleanup();
  });

  for (const to of ["vmdk", "raw", "vhdx"]) {
    it(`qcow2 → ${to} with verify: the result carries the content hash, checked equal on both sides`, async () => {
      const destination = join(out, `verified.${to}`);
      const result = await createPipeline(config()).run({ source: qcow2, destination, to, verify: true });
      assert.equal(result.contentHash, expected);
      assert.equal(result.verified, true);
      assert.deepEqual(workLeft(), []);
    });
  }

  it("raw → raw (the copy engine) hashes the source in the copy's own pass, and verifies the output", async () => {
    const destination = join(out, "copied.raw");
    const result = await createPipeline(config()).run({ source: raw, destination, to: "raw", verify: true });
    assert.equal(result.contentHash, expected);
    assert.equal(result.verified, true);
    assert.ok(readFileSync(destination).equals(readFileSync(raw)));
  });

  it("the configuration's verify: true turns it on for every job; a job may still say verify: false", async () => {
    const pipeline = createPipeline(config({ verify: true }));
    const on = await pipeline.run({ source: qcow2, destination: join(out, "config-on.raw"), to: "raw" });
    assert.equal(on.verified, true);
    const off = await pipeline.run({
      source: qcow2,
      destination: join(out, "config-off.raw"),
      to: "raw",
      verify: false,
    });
    assert.equal(off.contentHash, undefined);
    assert.throws(() => resolveConfig({ verify: "yes" }), { code: "config-invalid", message: /verify/ });
  });

  for (const [from, to] of [
    ["raw", "raw"],
    ["qcow2", "raw"],
  ]) {
    it(`a postConvert plugin that flips a byte of the output (${from} → ${to}) fails the job with verify-failed and leaves nothing`, async () => {
      const destination = join(out, `corrupted-${from}.${to}`);
      const before = listDir(out);
      const pipeline = createPipeline(config({ plugins: [corrupting] }));
      const error = await failure(
        pipeline.run({ source: from === "raw" ? raw : qcow2, destination, to, verify: true }),
      );
      assert.equal(error.code, "verify-failed");
      assert.equal(error.exitCode, 1);
      assert.match(error.message, /content hash blk-sha256:[0-9a-f]{64} differs from the source's blk-sha256:/);
      assert.deepEqual(listDir(out), before, "no output, no temporary file");
      assert.deepEqual(workLeft(), []);
    });
  }

  it("contentHash pins the source's disk: a match converts, a mismatch is checksum-mismatch (exit 3) and leaves nothing", async () => {
    const pipeline = createPipeline(config());
    const ok = await pipeline.run({
      source: qcow2,
      destination: join(out, "pinned.vmdk"),
      to: "vmdk",
      contentHash: expected,
    });
    assert.equal(ok.contentHash, expected);
    assert.equal(ok.verified, undefined);
    const before = listDir(out);
    const wrong = `blk-sha256:${"0".repeat(64)}`;
    const error = await failure(
      pipeline.run({ source: qcow2, destination: join(out, "wrong.vmdk"), to: "vmdk", contentHash: wrong }),
    );
    assert.equal(error.code, "checksum-mismatch");
    assert.equal(error.exitCode, 3);
    assert.deepEqual(listDir(out), before);
    assert.deepEqual(workLeft(), []);
  });

  it("an encrypted output and an encrypted source are verified with their key (LUKS)", async () => {
    const pass = join(dir, "pass");
    (await import("node:fs")).writeFileSync(pass, "correct horse", { mode: 0o600 });
    const pipeline = createPipeline(config({ plugins: [luks()] }));
    const encrypted = join(out, "verified.luks");
    const options = { passphraseFile: pass, iterTime: 100 };
    const sealed = await pipeline.run({ source: qcow2, destination: encrypted, to: "luks", verify: true, options });
    assert.equal(sealed.contentHash, expected);
    assert.equal(sealed.verified, true);
    const opened = await pipeline.run({
      source: encrypted,
      destination: join(out, "from-luks.raw"),
      from: "luks",
      to: "raw",
      verify: true,
      options: { passphraseFile: pass },
    });
    assert.equal(opened.contentHash, expected);
    assert.deepEqual(workLeft(), []);
  });

  it("a job aborted while its source is hashed beside the conversion stops both, and leaves no qemu-nbd and no file", async () => {
    const vmdk = makeImage(raw, "vmdk", join(dir, "abort-source.vmdk"));
    const abort = new AbortController();
    const pipeline = createPipeline(config());
    pipeline.on((event) => {
      if (event.type === "stage-start" && event.stage === "convert") setImmediate(() => abort.abort());
    });
    const before = listDir(out);
    const error = await failure(
      pipeline.run({
        source: vmdk,
        destination: join(out, "aborted.qcow2"),
        to: "qcow2",
        verify: true,
        signal: abort.signal,
      }),
    );
    assert.equal(error.code, "aborted");
    assert.deepEqual(listDir(out), before);
    assert.deepEqual(workLeft(), []);
    assert.deepEqual(nbdServersUnder(work), [], "no qemu-nbd of this job runs on");
  });

  it("a dirStore sidecar stores the content hash, and an HTTP PUT sends it as x-diskpipe-content-hash", async () => {
    const root = join(dir, "images");
    (await import("node:fs")).mkdirSync(root);
    const images = definePlugin({ name: "images", ...defineImageService("images", dirStore(root)) });
    const pipeline = createPipeline(config({ plugins: [images] }));
    await pipeline.run({ source: qcow2, destination: "store://images/web-01", to: "qcow2", verify: true });
    const sidecar = JSON.parse(readFileSync(join(root, "web-01.json"), "utf8")) as Record<string, unknown>;
    assert.equal(sidecar.contentHash, expected);
    await pipeline.run({ source: qcow2, destination: server.url("/put/disk.vmdk"), to: "vmdk", verify: true });
    assert.deepEqual(
      server.requests("/put/disk.vmdk", "PUT").map((seen) => seen.contentHash),
      [expected],
    );
    assert.deepEqual(workLeft(), []);
  });
});
