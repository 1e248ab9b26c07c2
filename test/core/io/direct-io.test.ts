import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { directIoAt } from "../../../src/core/io/direct-io.ts";
import { createPipeline } from "../../../src/create-pipeline.ts";
import { definePlugin } from "../../../src/core/plugin.ts";
import { makeImage, makeRaw, sameDisk, tempDir } from "../../helpers/images.ts";
import { requirement } from "../../helpers/requirement.ts";

const MiB = 1024 * 1024;

/** The file system type of `dir` as `stat -f` names it (ext2/ext3 for ext4, tmpfs, xfs…). */
function fsType(dir: string): string {
  return execFileSync("stat", ["-f", "-c", "%T", dir], { encoding: "utf8" }).trim();
}

/** A pipeline whose preConvert hook records the qemu-img command line it would run. */
function recording(config: Record<string, unknown> = {}) {
  const seen: string[][] = [];
  const plugin = definePlugin({
    name: "record-argv",
    enforce: "post",
    hooks: { preConvert: (plan, ctx) => void seen.push(ctx.qemu.convertCommand(plan)) },
  });
  return { seen, pipeline: (workDir: string) => createPipeline({ workDir, plugins: [plugin], ...config }) };
}

describe("direct I/O for outputs (qemu-img -t none)", () => {
  const { dir, cleanup } = tempDir();
  let qcow2 = "";
  let raw = "";
  const onDisk = ["ext2/ext3", "xfs", "btrfs"].includes(fsType(dir));

  before(() => {
    raw = makeRaw(join(dir, "disk.raw"), 6 * MiB);
    qcow2 = makeImage(raw, "qcow2", join(dir, "disk.qcow2"));
  });
  after(cleanup);

  it("probes a new file with O_DIRECT and removes the probe", async () => {
    const probe = join(dir, "probe");
    assert.equal(await directIoAt(probe), fsType(dir) !== "ramfs");
    assert.equal(existsSync(probe), false);
  });

  it("never touches an existing file", async () => {
    const existing = join(dir, "existing");
    writeFileSync(existing, "keep");
    assert.equal(await directIoAt(existing), false);
    assert.equal(readdirSync(dir).includes("existing"), true);
  });

  it(
    "converts with -t none and without -W on a disk file system, and the output is right",
    { skip: requirement(onDisk ? false : `${fsType(dir)} is not a disk file system`) },
    async () => {
      const { seen, pipeline } = recording();
      const out = join(dir, "out.raw");
      await pipeline(join(dir, "work")).run({ source: qcow2, destination: out, to: "raw" });
      const argv = seen[0];
      assert.deepEqual(argv.slice(argv.indexOf("-t"), argv.indexOf("-t") + 2), ["-t", "none"], argv.join(" "));
      assert.equal(argv.includes("-W"), false, argv.join(" "));
      assert.ok(sameDisk(raw, "raw", out, "raw"));
    },
  );

  it("leaves the page cache on when the configuration says directIo: false", async () => {
    const { seen, pipeline } = recording({ qemuImg: { directIo: false } });
    const out = join(dir, "cached.raw");
    await pipeline(join(dir, "work")).run({ source: qcow2, destination: out, to: "raw" });
    assert.equal(seen[0].includes("-t"), false, seen[0].join(" "));
    assert.ok(sameDisk(raw, "raw", out, "raw"));
  });

  describe(
    "on a ramfs (no O_DIRECT; tmpfs has it since Linux 6.6)",
    { skip: requirement(process.getuid?.() === 0 ? false : "needs root to mount a ramfs") },
    () => {
      const mount = join(dir, "ramfs");
      let mounted = false;
      before(() => {
        mkdirSync(mount);
        mounted = spawnSync("mount", ["-t", "ramfs", "ramfs", mount]).status === 0;
      });
      after(() => {
        if (mounted) spawnSync("umount", [mount]);
      });

      it("falls back to the page cache and still converts", async (t) => {
        if (!mounted) return t.skip(requirement("mount -t ramfs failed") || undefined);
        assert.equal(await directIoAt(join(mount, "probe")), false);
        assert.deepEqual(readdirSync(mount), []);
        const { seen, pipeline } = recording();
        const out = join(mount, "out.raw");
        await pipeline(join(dir, "work")).run({ source: qcow2, destination: out, to: "raw" });
        assert.equal(seen[0].includes("-t"), false, seen[0].join(" "));
        assert.ok(sameDisk(raw, "raw", out, "raw"));
        assert.deepEqual(readdirSync(mount), ["out.raw"]);
      });
    },
  );
});
