import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, ftruncateSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPipeline, defaultConfig, type JobEvent } from "../../../src/mod.ts";
import { failure } from "../../helpers/failure.ts";
import { makeRaw, tempDir } from "../../helpers/images.ts";

describe("luks passphrase files are bounded (issue 19.5)", () => {
  const { dir, cleanup } = tempDir();
  let raw = "";
  before(() => {
    raw = makeRaw(join(dir, "disk.raw"), 1024 * 1024);
  });
  after(cleanup);

  const run = async (passphraseFile: string) => {
    const pipeline = createPipeline(await defaultConfig());
    const stages: string[] = [];
    pipeline.on((e: JobEvent) => void (e.type === "stage-start" && stages.push(e.stage)));
    const error = await failure(
      pipeline.run({
        source: raw,
        destination: join(dir, "out.luks"),
        to: "luks",
        options: { passphraseFile, iterTime: 100 },
      }),
    );
    return { error, stages };
  };

  it("refuses a passphrase file over 64 KiB before qemu-img starts", async () => {
    const big = join(dir, "big-pass");
    const fd = openSync(big, "w", 0o600);
    ftruncateSync(fd, 1024 ** 3);
    closeSync(fd);
    const { error, stages } = await run(big);
    assert.equal(error.code, "usage");
    assert.match(error.message, /larger than 65536 bytes/);
    assert.ok(!stages.includes("convert"), `qemu-img ran: ${stages.join(", ")}`);
  });

  it("refuses a FIFO or a device as a passphrase file at once", async () => {
    const fifo = join(dir, "pass-fifo");
    execFileSync("mkfifo", [fifo]);
    for (const path of [fifo, "/dev/zero"]) {
      const started = Date.now();
      const { error } = await run(path);
      assert.equal(error.code, "usage");
      assert.match(error.message, /(FIFO|character device), not a passphrase file/);
      assert.ok(Date.now() - started < 10_000);
    }
  });

  it("takes a passphrase file of exactly 64 KiB", async () => {
    const edge = join(dir, "edge-pass");
    writeFileSync(edge, Buffer.alloc(64 * 1024, 0x61), { mode: 0o600 });
    const pipeline = createPipeline(await defaultConfig());
    const result = await pipeline.run({
      source: raw,
      destination: join(dir, "edge.luks"),
      to: "luks",
      options: { passphraseFile: edge, iterTime: 100 },
    });
    assert.equal(result.to, "luks");
  });

  it("refuses an --iter-time beyond 60 s (key derivation is CPU work on the operator's machine)", async () => {
    const pass = join(dir, "pass");
    writeFileSync(pass, "pass", { mode: 0o600 });
    const pipeline = createPipeline(await defaultConfig());
    const error = await failure(
      pipeline.run({
        source: raw,
        destination: join(dir, "slow.luks"),
        to: "luks",
        options: { passphraseFile: pass, iterTime: 10_000_000 },
      }),
    );
    assert.equal(error.code, "usage");
    assert.match(error.message, /iter-time/);
  });
});
