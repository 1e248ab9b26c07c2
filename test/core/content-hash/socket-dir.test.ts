import assert from "node:assert/strict";
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { MAX_SOCKET_PATH, socketDir } from "../../../src/core/content-hash/socket-dir.ts";
import { createPipeline } from "../../../src/mod.ts";
import { makeImage, makeRaw, sameDisk, tempDir } from "../../helpers/images.ts";

describe("socketDir: where qemu-nbd's socket goes", () => {
  const { dir, cleanup } = tempDir("diskpipe-socket-dir-");
  after(cleanup);
  // A work root deep enough that a socket inside a job's directory would pass the limit.
  const deep = join(dir, "a".repeat(60), "b".repeat(60));
  mkdirSync(deep, { recursive: true });

  it("is a private directory in the work directory when the socket's path fits", async () => {
    const made = await socketDir(dir, "s");
    assert.equal(made.startsWith(join(dir, "nbd-")), true, made);
    assert.equal(statSync(made).mode & 0o777, 0o700);
    rmSync(made, { recursive: true });
  });

  it("is a private directory under /tmp when it would not, leaving nothing in the work directory", async () => {
    const made = await socketDir(deep, "s");
    assert.equal(made.startsWith("/tmp/diskpipe-nbd-"), true, made);
    assert.ok(Buffer.byteLength(join(made, "s")) <= MAX_SOCKET_PATH);
    assert.equal(statSync(made).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(deep), []);
    rmSync(made, { recursive: true });
  });

  it("lets --verify check a conversion under a deep work root (qemu-nbd's socket once passed 108 bytes there)", async () => {
    const raw = makeRaw(join(dir, "disk.raw"), 2 * 1024 * 1024, 9);
    const qcow2 = makeImage(raw, "qcow2", join(dir, "disk.qcow2"));
    const out = join(dir, "out.vdi");
    const result = await createPipeline({ workDir: deep }).run({
      source: qcow2,
      destination: out,
      to: "vdi",
      verify: true,
    });
    assert.equal(result.verified, true);
    assert.ok(sameDisk(raw, "raw", out, "vdi"));
    assert.deepEqual(
      readdirSync("/tmp").filter(
        (name) => name.startsWith("diskpipe-nbd-") && statSync(join("/tmp", name)).mtimeMs > Date.now() - 60_000,
      ),
      [],
      "the socket's directory is removed",
    );
  });
});
