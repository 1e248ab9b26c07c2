import assert from "node:assert/strict";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { convert, createPipeline, defaultConfig, type JobEvent } from "../../../src/mod.ts";
import { diskpipe } from "../../helpers/cli.ts";
import { makeImage, makeLuks, makeRaw, qemuImg, tempDir } from "../../helpers/images.ts";
import { expectVerdict, inspectWithPlugins } from "../../../src/plugin-testing.ts";
import { luks } from "../../../src/plugins/index.ts";

const PASSPHRASE = "correct horse battery staple";

describe("luks plugin", () => {
  const { dir, cleanup } = tempDir();
  let raw = "";
  let qcow2 = "";
  let pass = "";
  /** A LUKS image of its own for the tests that only read one (each test can run alone). */
  let sealed = "";
  before(() => {
    raw = makeRaw(join(dir, "disk.raw"), 4 * 1024 * 1024);
    qcow2 = makeImage(raw, "qcow2", join(dir, "disk.qcow2"));
    pass = join(dir, "pass");
    writeFileSync(pass, PASSPHRASE, { mode: 0o600 });
    sealed = makeLuks(join(dir, "sealed.luks"), pass, "1M", 10);
  });
  after(cleanup);

  it("round trip through the CLI gives back the original bytes, and the passphrase shows up nowhere", () => {
    const luks = join(dir, "disk.luks");
    const encrypt = diskpipe([
      "convert",
      qcow2,
      luks,
      "--to",
      "luks",
      "--iter-time",
      "100",
      "--passphrase-file",
      pass,
      "--json",
    ]);
    assert.equal(encrypt.status, 0, encrypt.stderr);
    const info = JSON.parse(qemuImg("info", "--output=json", "-f", "luks", luks));
    assert.equal(info["format-specific"].data["cipher-alg"], "aes-256");
    assert.equal(info["format-specific"].data["cipher-mode"], "xts");
    assert.equal(info["format-specific"].data["ivgen-alg"], "plain64");
    assert.equal(
      readFileSync(luks).includes(Buffer.from(readFileSync(raw).subarray(0, 4096))),
      false,
      "the data is encrypted",
    );

    const back = join(dir, "back.raw");
    const decrypt = diskpipe(["convert", luks, back, "--from", "luks", "--to", "raw", "--passphrase-file", pass]);
    assert.equal(decrypt.status, 0, decrypt.stderr);
    assert.deepEqual(readFileSync(back), readFileSync(raw));
    for (const output of [encrypt.stdout, encrypt.stderr, decrypt.stdout, decrypt.stderr])
      assert.equal(output.includes(PASSPHRASE), false);
  });

  it("detects LUKS images with its own detector; without the plugin they are refused, never raw", async () => {
    const image = sealed;
    await expectVerdict(luks(), image, {
      format: "luks",
      variant: "luks1",
      safe: true,
      virtualSize: 1024 * 1024,
      problems: [],
    });
    const without = await inspectWithPlugins([], image);
    assert.deepEqual(
      [without.format, without.safe, without.problems.map((p) => p.code)],
      ["luks", false, ["unsupported-format"]],
    );
  });

  it("passes the passphrase to qemu-img only as a file-backed secret object", async () => {
    const pipeline = createPipeline(await defaultConfig());
    const events: JobEvent[] = [];
    pipeline.on((e) => events.push(e));
    let argv: string[] = [];
    let retry: unknown;
    pipeline.plugins.push({
      name: "spy",
      hooks: {
        preConvert: {
          order: "post",
          handler: (plan) => void ((argv = pipeline.qemu.convertArgs(plan)), (retry = plan.retry)),
        },
      },
    });
    const measured: unknown[] = [];
    const measure = pipeline.qemu.measure.bind(pipeline.qemu);
    pipeline.qemu.measure = (...args) => (measured.push(args[1]), measure(...args));
    await pipeline.run({
      source: raw,
      destination: join(dir, "spy.luks"),
      to: "luks",
      options: { passphraseFile: pass, cipher: "aes-cbc-essiv:sha256", keySize: 128, iterTime: 100 },
    });
    assert.deepEqual(
      measured,
      [],
      "a LUKS output is estimated by the plugin, never measured: measure would derive keys or refuse the cipher options",
    );
    assert.ok(
      argv.some((arg) => arg === `secret,id=luks0,file=${pass},format=raw`),
      argv.join(" "),
    );
    assert.deepEqual(
      retry,
      { attempts: 8, stderr: "Unable to get accurate CPU usage", pauseMs: 100 },
      "qemu's key-derivation timing failure is tried again",
    );
    assert.ok(
      argv.includes(
        "key-secret=luks0,cipher-alg=aes-128,cipher-mode=cbc,ivgen-alg=essiv,ivgen-hash-alg=sha256,iter-time=100",
      ),
      argv.join(" "),
    );
    assert.equal(argv.join(" ").includes(PASSPHRASE), false);
    assert.equal(JSON.stringify(events).includes(PASSPHRASE), false);
    assert.equal(
      JSON.parse(qemuImg("info", "--output=json", "-f", "luks", join(dir, "spy.luks")))["format-specific"].data[
        "cipher-mode"
      ],
      "cbc",
    );
  });

  it("converts encrypted input to another format from a script", async () => {
    const luks = join(dir, "script.luks");
    await convert({ source: raw, destination: luks, to: "luks", options: { passphraseFile: pass, iterTime: 100 } });
    const out = join(dir, "script.vdi");
    const result = await convert({
      source: luks,
      destination: out,
      to: "vdi",
      from: "luks",
      options: { passphraseFile: pass },
    });
    assert.equal(result.from, "luks");
    assert.equal(result.virtualSize, 4 * 1024 * 1024);
    const check = join(dir, "script-check.raw");
    qemuImg("convert", "-f", "vdi", "-O", "raw", out, check);
    assert.deepEqual(readFileSync(check), readFileSync(raw));
  });

  it("warns when the passphrase file is readable by others", () => {
    const loose = join(dir, "loose-pass");
    writeFileSync(loose, PASSPHRASE);
    chmodSync(loose, 0o644);
    const run = diskpipe([
      "convert",
      raw,
      join(dir, "loose.luks"),
      "--to",
      "luks",
      "--iter-time",
      "100",
      "--passphrase-file",
      loose,
    ]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /warning: .*readable by group or others/);
  });

  it("never treats a LUKS image as raw: without a passphrase it stops with a usage error", () => {
    const luks = sealed;
    const inspect = diskpipe(["inspect", luks, "--json"]);
    assert.equal(JSON.parse(inspect.stdout).format, "luks");
    const run = diskpipe(["convert", luks, join(dir, "nopass.raw"), "--to", "raw"]);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /a LUKS source needs --passphrase-file/);
    assert.equal(existsSync(join(dir, "nopass.raw")), false);
    const claimedRaw = diskpipe(["convert", luks, join(dir, "asraw.raw"), "--from", "raw", "--to", "raw"]);
    assert.equal(claimedRaw.status, 3);
  });

  it("a wrong passphrase fails cleanly with no output", () => {
    const wrong = join(dir, "wrong");
    writeFileSync(wrong, "not it", { mode: 0o600 });
    const out = join(dir, "wrong.raw");
    const run = diskpipe(["convert", sealed, out, "--from", "luks", "--to", "raw", "--passphrase-file", wrong]);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /Invalid password|qemu-img/i);
    assert.equal(existsSync(out), false);
  });

  it("refuses a bad cipher with exit 2", () => {
    const run = diskpipe([
      "convert",
      raw,
      join(dir, "bad.luks"),
      "--to",
      "luks",
      "--iter-time",
      "100",
      "--passphrase-file",
      pass,
      "--cipher",
      "rot13-ecb-plain",
    ]);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /unsupported cipher "rot13"/);
  });

  it("says clearly when qemu-img is older than 2.10", () => {
    const fake = join(dir, "old-qemu-img");
    // Stands in for a qemu-img 2.9 binary, which this machine cannot have.
    writeFileSync(
      fake,
      '#!/bin/sh\n[ "$1" = --version ] && echo \'qemu-img version 2.9.0\' && exit 0\nexec qemu-img "$@"\n',
      { mode: 0o755 },
    );
    const config = join(dir, "old.config.mjs");
    writeFileSync(
      config,
      `import base from ${JSON.stringify(new URL("../../../dist/plugins.config.js", import.meta.url).pathname)};\nexport default { ...base, qemuImg: { binary: ${JSON.stringify(fake)} } };\n`,
    );
    const run = diskpipe([
      "convert",
      raw,
      join(dir, "old.luks"),
      "--to",
      "luks",
      "--iter-time",
      "100",
      "--passphrase-file",
      pass,
      "--config",
      config,
    ]);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /LUKS needs qemu-img 2\.10 or newer; this one is 2\.9\.0/);
  });
});
