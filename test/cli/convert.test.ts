import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { diskpipe } from "../helpers/cli.ts";
import { makeImage, makeRaw, qemuImg, sameDisk, tempDir } from "../helpers/images.ts";
import { requirement } from "../helpers/requirement.ts";

describe("diskpipe convert", () => {
  const { dir, cleanup } = tempDir();
  let raw = "";
  let vmdk = "";
  let backing = "";
  before(() => {
    raw = makeRaw(join(dir, "disk.raw"), 4 * 1024 * 1024);
    vmdk = makeImage(raw, "vmdk", join(dir, "disk.vmdk"));
    backing = join(dir, "backing.qcow2");
    qemuImg("create", "-f", "qcow2", "-b", vmdk, "-F", "vmdk", backing);
  });
  after(cleanup);

  it("converts SRC DEST and says what it did", () => {
    const out = join(dir, "disk.qcow2");
    const run = diskpipe(["convert", vmdk, out, "--to", "qcow2"]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /converted .*disk\.vmdk -> .*disk\.qcow2 \(vmdk -> qcow2, 4 MiB virtual/);
    assert.ok(sameDisk(raw, "raw", out, "qcow2"));
  });

  it("prints one JSON result with --json", () => {
    const out = join(dir, "json.vdi");
    const run = diskpipe(["convert", vmdk, out, "--to", "vdi", "--json"]);
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.equal(result.ok, true);
    assert.equal(result.from, "vmdk");
    assert.equal(result.to, "vdi");
    assert.equal(result.virtualSize, 4 * 1024 * 1024);
  });

  it("rejects a hostile image with exit 3, a reason, and no output", () => {
    const out = join(dir, "evil.raw");
    const run = diskpipe(["convert", backing, out, "--to", "raw"]);
    assert.equal(run.status, 3);
    assert.match(run.stderr, /backing file/i);
    assert.match(run.stderr, /\[image-rejected\]/);
    assert.doesNotMatch(run.stderr, /\n\s+at /, "no stack trace");
    assert.equal(existsSync(out), false);
  });

  it("rejects an image that is not what was claimed with exit 3", () => {
    const run = diskpipe(["convert", vmdk, join(dir, "claimed.raw"), "--to", "raw", "--from", "qcow2"]);
    assert.equal(run.status, 3);
    assert.match(run.stderr, /format-mismatch/);
  });

  it("answers usage errors with exit 2", () => {
    assert.equal(diskpipe(["convert", vmdk, join(dir, "x.raw")]).status, 2, "missing --to");
    assert.equal(diskpipe(["convert", vmdk, join(dir, "x.raw"), "--to", "floppy"]).status, 2, "unknown format");
    assert.equal(
      diskpipe(["convert", vmdk, raw, join(dir, "x.raw"), "--to", "raw"]).status,
      2,
      "three paths, no --out-dir",
    );
    assert.equal(
      diskpipe(["convert", vmdk, join(dir, "x.raw"), "--to", "raw", "--max-size", "lots"]).status,
      2,
      "bad size",
    );
    assert.equal(diskpipe(["frobnicate"]).status, 2, "unknown command");
    assert.equal(existsSync(join(dir, "x.raw")), false);
  });

  it("fails with exit 1 and a clear message for a missing source", () => {
    const run = diskpipe(["convert", join(dir, "nope.vmdk"), join(dir, "nope.raw"), "--to", "raw"]);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /cannot read source .*nope\.vmdk: no such file \[fetch-failed\]/);
  });

  it("converts many sources into --out-dir, reports a summary, and exits non-zero if any failed", () => {
    const outDir = join(dir, "batch");
    const other = makeRaw(join(dir, "other.img"), 1024 * 1024, 7);
    const run = diskpipe(["convert", vmdk, other, backing, "--out-dir", outDir, "--to", "qcow2", "--jobs", "2"]);
    assert.equal(run.status, 3, run.stderr);
    assert.match(run.stderr, /2 converted, 1 failed/);
    assert.deepEqual(readdirSync(outDir).sort(), ["disk.qcow2", "other.qcow2"]);
    assert.ok(sameDisk(other, "raw", join(outDir, "other.qcow2"), "qcow2"));
  });

  it("refuses a batch whose sources would write the same output", () => {
    const run = diskpipe(["convert", vmdk, raw, "--out-dir", join(dir, "clash"), "--to", "qcow2"]);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /both .*disk\.vmdk and .*disk\.raw would be written to .*disk\.qcow2/);
  });

  it("loads a plugins.config.ts that imports diskpipe, diskpipe/plugin and diskpipe/plugins", () => {
    const cwd = join(dir, "user-config");
    mkdirSync(cwd);
    writeFileSync(
      join(cwd, "plugins.config.ts"),
      [
        'import { defineConfig } from "diskpipe";',
        'import { definePlugin, DiskpipeError } from "diskpipe/plugin";',
        'import { ploop } from "diskpipe/plugins";',
        'const policy = definePlugin({ name: "no-vmdk", hooks: { verify(ctx) { if (ctx.inspection?.format === "vmdk") throw new DiskpipeError("image-rejected", "no vmdk here"); } } });',
        "export default defineConfig({ plugins: [ploop(), policy] });",
      ].join("\n"),
    );
    const refused = diskpipe(["convert", vmdk, join(cwd, "out.qcow2"), "--to", "qcow2"], { cwd });
    assert.equal(refused.status, 3, refused.stderr);
    assert.match(refused.stderr, /no-vmdk/);
    assert.match(refused.stderr, /no vmdk here/);
    const inspected = diskpipe(["inspect", vmdk], { cwd });
    assert.equal(inspected.status, 0, inspected.stderr);
  });

  it("adds the flags a configured plugin declares to convert, and hands their values to the job", () => {
    const config = join(dir, "answer.config.ts");
    writeFileSync(
      config,
      [
        'import { defineConfig } from "diskpipe";',
        'import { definePlugin, DiskpipeError } from "diskpipe/plugin";',
        "const answer = definePlugin({",
        '  name: "answer",',
        '  convertOptions: [{ flags: "--answer <n>", description: "the answer the plugin checks", key: "answer", type: "number" }, { flags: "--label <text>", description: "a label", key: "label" }],',
        '  hooks: { verify(ctx) { throw new DiskpipeError("image-rejected", `answer ${typeof ctx.spec.options?.answer} ${ctx.spec.options?.answer}, label ${ctx.spec.options?.label}`); } },',
        "});",
        "export default defineConfig({ plugins: [answer] });",
      ].join("\n"),
    );
    const help = diskpipe(["convert", "--help", "--config", config]);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /--answer <n>\s+the answer the plugin checks/);
    assert.doesNotMatch(
      help.stdout,
      /--passphrase-file/,
      "LUKS is not in this configuration, so neither are its flags",
    );
    assert.match(
      diskpipe(["convert", "--help"]).stdout,
      /--passphrase-file <file>/,
      "the shipped configuration has LUKS",
    );
    const run = diskpipe([
      "--config",
      config,
      "convert",
      vmdk,
      join(dir, "answer.qcow2"),
      "--to",
      "qcow2",
      "--answer",
      "42",
      "--label",
      "x y",
    ]);
    assert.equal(run.status, 3, run.stderr);
    assert.match(run.stderr, /answer number 42, label x y/);
    const stranger = diskpipe([
      "convert",
      vmdk,
      join(dir, "answer.qcow2"),
      "--to",
      "qcow2",
      "--config",
      config,
      "--passphrase-file",
      config,
    ]);
    assert.equal(stranger.status, 2, stranger.stderr);
    assert.match(stranger.stderr, /unknown option '--passphrase-file'/);
    assert.equal(existsSync(join(dir, "answer.qcow2")), false);
  });

  it("refuses a plugin flag that clashes with one of convert's own, as a configuration error", () => {
    const config = join(dir, "clash.config.ts");
    writeFileSync(
      config,
      [
        'import { defineConfig } from "diskpipe";',
        'import { definePlugin } from "diskpipe/plugin";',
        'export default defineConfig({ plugins: [definePlugin({ name: "clash", convertOptions: [{ flags: "--to <fmt>", description: "mine", key: "to" }] })] });',
      ].join("\n"),
    );
    const run = diskpipe(["convert", vmdk, join(dir, "clash.qcow2"), "--to", "qcow2", "--config", config]);
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /a plugin's convert flag "--to <fmt>" cannot be added: .* \[config-invalid\]/);
    assert.doesNotMatch(run.stderr, /\n\s+at /, "no stack trace");
  });

  it("has --help for every command", () => {
    for (const args of [["--help"], ["convert", "--help"], ["inspect", "--help"], ["info", "--help"]]) {
      const run = diskpipe(args);
      assert.equal(run.status, 0, args.join(" "));
      assert.match(run.stdout, /Usage: diskpipe/);
    }
    assert.match(diskpipe(["convert", "--help"]).stdout, /--out-dir/);
    assert.match(diskpipe(["--help"]).stdout, /Exit codes: 0 success, 1 failure, 2 usage error, 3 image rejected/);
  });

  it(
    "checks free space at the destination before converting",
    { skip: requirement(process.getuid?.() !== 0 ? "needs root to mount a tmpfs" : false) },
    () => {
      const mount = join(dir, "small");
      mkdirSync(mount);
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mount]);
      try {
        const run = diskpipe(["convert", vmdk, join(mount, "full.raw"), "--to", "raw"]);
        assert.equal(run.status, 1);
        assert.match(run.stderr, /not enough space .* \[no-space\]/);
        assert.deepEqual(readdirSync(mount), []);
      } finally {
        execFileSync("umount", [mount]);
      }
    },
  );
});
