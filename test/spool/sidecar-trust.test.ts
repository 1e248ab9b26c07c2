import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPipeline } from "../../src/create-pipeline.ts";
import { luks } from "../../src/plugins/index.ts";
import { createSpool, type Spool } from "../../src/spool/spool.ts";
import { makeRaw, qemuImg, tempDir } from "../helpers/images.ts";
import { filesIn, waitFor } from "./helpers.ts";

describe("spool sidecars are untrusted (issue 16.5)", () => {
  const { dir, cleanup } = tempDir("diskpipe-sidecar-");
  const root = join(dir, "spool");
  const keys = join(dir, "keys");
  const hostSecret = join(dir, "host-secret");
  let raw = "";
  let spool: Spool;

  const drop = (format: string, name: string, sidecar: unknown) => {
    mkdirSync(join(root, "incoming", format), { recursive: true });
    writeFileSync(join(root, "incoming", format, `${name}.json`), JSON.stringify(sidecar));
    copyFileSync(raw, join(root, "incoming", format, name));
  };
  const finished = (name: string) =>
    waitFor(
      () => spool.jobs().find((j) => j.name === name && (j.state === "done" || j.state === "failed")),
      `${name} to finish`,
    );

  before(async () => {
    raw = makeRaw(join(dir, "disk.raw"), 8 * 1024 * 1024);
    writeFileSync(hostSecret, "root's private bytes", { mode: 0o600 });
    mkdirSync(keys, { mode: 0o700 });
    writeFileSync(join(keys, "tenant-a"), "tenant a passphrase", { mode: 0o600 });
    symlinkSync(hostSecret, join(keys, "linked"));
    const pipeline = createPipeline({
      workDir: join(dir, "work"),
      maxSize: "16M",
      plugins: [luks({ keyDirectory: keys, iterTime: 10 })],
    });
    spool = createSpool({ root, pipeline, settleMs: 100 });
    await spool.start();
  });
  after(async () => {
    await spool.stop();
    cleanup();
  });

  it("refuses a sidecar that names a host file as the passphrase (no output keyed by it)", async () => {
    drop("luks", "named.raw", { options: { passphraseFile: hostSecret } });
    const job = await finished("named.raw");
    assert.equal(job.state, "failed");
    assert.equal(job.error?.code, "usage");
    assert.match(job.error!.message, /passphraseFile/);
    assert.deepEqual(filesIn(root, "done"), []);
  });

  it("refuses a sidecar that asks to open a LUKS source with a host file (no equality oracle)", async () => {
    drop("raw", "oracle.raw", { from: "luks", options: { passphraseFile: hostSecret } });
    const job = await finished("oracle.raw");
    assert.equal(job.state, "failed");
    assert.equal(job.error?.code, "usage");
    assert.match(job.error!.message, /passphraseFile/);
  });

  it("reads a sidecar only if it is a regular file: a link to a secret, a FIFO and a huge file fail at once, quoting nothing", async () => {
    writeFileSync(hostSecret, "TOPSECRET-0123456789", { mode: 0o600 });
    const folder = join(root, "incoming", "qcow2");
    mkdirSync(folder, { recursive: true });
    symlinkSync(hostSecret, join(folder, "linked.raw.json"));
    execFileSync("mkfifo", [join(folder, "fifo.raw.json")]);
    writeFileSync(join(folder, "huge.raw.json"), Buffer.alloc(65 * 1024, 0x20));
    for (const name of ["linked.raw", "fifo.raw", "huge.raw"]) copyFileSync(raw, join(folder, name));
    const expected: Record<string, RegExp> = {
      "linked.raw": /symbolic link/,
      "fifo.raw": /FIFO/,
      "huge.raw": /larger than 65536 bytes/,
    };
    for (const name of Object.keys(expected)) {
      const job = await finished(name);
      assert.equal(job.state, "failed");
      assert.equal(job.error?.code, "usage");
      assert.match(job.error!.message, expected[name]!);
    }
    await spool.idle();
    for (const file of [
      join(root, "journal.jsonl"),
      ...filesIn(root, "failed")
        .filter((n) => n.endsWith(".error.json"))
        .map((n) => join(root, "failed", n)),
    ]) {
      assert.equal(readFileSync(file, "utf8").includes("TOPSECRET"), false, `${file} quotes the link's target`);
    }
  });

  it("never lets a sidecar raise the operator's --max-size", async () => {
    drop("qcow2", "big.raw", { maxSize: "100T" });
    const ok = await finished("big.raw");
    assert.equal(ok.state, "done", "8 MiB is within the operator's 16 MiB");
    const tight = join(dir, "tight");
    const pipeline = createPipeline({ workDir: join(dir, "work"), maxSize: "4M" });
    const strict = createSpool({ root: tight, pipeline, settleMs: 100 });
    await strict.start();
    try {
      mkdirSync(join(tight, "incoming", "qcow2"), { recursive: true });
      writeFileSync(join(tight, "incoming", "qcow2", "big.raw.json"), JSON.stringify({ maxSize: "100T" }));
      copyFileSync(raw, join(tight, "incoming", "qcow2", "big.raw"));
      const job = await waitFor(
        () => strict.jobs().find((j) => j.state === "done" || j.state === "failed"),
        "the job to finish",
      );
      assert.equal(job.state, "failed");
      assert.equal(job.error?.code, "image-rejected");
      assert.match(job.error!.message, /exceeds the limit of 4194304 bytes/);
    } finally {
      await strict.stop();
    }
  });

  it("takes a LUKS key by id from the operator's key directory", async () => {
    drop("luks", "keyed.raw", { options: { keyId: "tenant-a" } });
    const job = await finished("keyed.raw");
    assert.equal(job.state, "done", job.error?.message);
    const out = join(root, "done", "keyed.luks");
    const back = join(dir, "keyed-back.raw");
    qemuImg(
      "convert",
      "--object",
      `secret,id=k,file=${join(keys, "tenant-a")}`,
      "--image-opts",
      `driver=luks,key-secret=k,file.filename=${out}`,
      "-O",
      "raw",
      back,
    );
    assert.ok(readFileSync(back).equals(readFileSync(raw)));
  });

  for (const [keyId, why] of [
    ["../host-secret", /key id/],
    [".hidden", /key id/],
    ["linked", /symbolic link/],
    ["missing", /no key/],
  ] as const) {
    it(`refuses key id ${JSON.stringify(keyId)}`, async () => {
      const name = `bad-${keyId.replace(/[^a-z]/g, "")}.raw`;
      drop("luks", name, { options: { keyId } });
      const job = await finished(name);
      assert.equal(job.state, "failed");
      assert.equal(job.error?.code, "usage");
      assert.match(job.error!.message, why);
      assert.ok(!existsSync(join(root, "done", name.replace(/\.raw$/, ".luks"))));
    });
  }
});
