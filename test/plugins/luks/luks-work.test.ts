import assert from "node:assert/strict";
import { closeSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPipeline, definePlugin } from "../../../src/mod.ts";
import { diskpipe } from "../../helpers/cli.ts";
import { failure } from "../../helpers/failure.ts";
import { makeLuks, tempDir } from "../../helpers/images.ts";

describe("LUKS key-derivation work and conversions are bounded (issue 19.1)", () => {
  const { dir, cleanup } = tempDir();
  let pass = "";
  let slow = "";
  before(() => {
    pass = join(dir, "pass");
    writeFileSync(pass, "pass", { mode: 0o600 });
    slow = join(dir, "slow.luks");
    makeLuks(slow, pass, "1M", 10);
    const fd = openSync(slow, "r+");
    writeSync(fd, Buffer.from([0xff, 0xff, 0xff, 0xff]), 0, 4, 208 + 4);
    closeSync(fd);
  });
  after(cleanup);

  it("refuses a key slot asking for 2^32-1 PBKDF2 iterations at once, before qemu-img derives anything", () => {
    const started = Date.now();
    const inspected = diskpipe(["inspect", slow, "--json"]);
    assert.equal(inspected.status, 3, inspected.stdout);
    assert.ok(JSON.parse(inspected.stdout).problems.some((p: { code: string }) => p.code === "luks-iterations"));
    const run = diskpipe([
      "convert",
      slow,
      join(dir, "out.raw"),
      "--from",
      "luks",
      "--to",
      "raw",
      "--passphrase-file",
      pass,
    ]);
    assert.equal(run.status, 3, run.stderr);
    assert.match(run.stderr, /too much key-derivation work.*\[image-rejected\]/);
    assert.ok(Date.now() - started < 20_000, "took too long");
  });

  it("counts the work, not the iterations: the same count is refused with a slow hash and a long key, accepted with SHA-256", () => {
    const patched = (name: string, options: string) => {
      const path = makeLuks(join(dir, name), pass, "1M", 10, options);
      const fd = openSync(path, "r+");
      writeSync(fd, Buffer.from([0x01, 0, 0, 0]), 0, 4, 208 + 4); // 2^24 iterations for key slot 0
      closeSync(fd);
      return JSON.parse(diskpipe(["inspect", path, "--json"]).stdout) as {
        safe: boolean;
        problems: Array<{ code: string }>;
      };
    };
    const slow = patched("ripemd.luks", "hash-alg=ripemd160");
    assert.equal(slow.safe, false);
    assert.ok(
      slow.problems.some((p) => p.code === "luks-iterations"),
      JSON.stringify(slow.problems),
    );
    const fast = patched("sha256.luks", "hash-alg=sha256");
    assert.equal(fast.safe, true, JSON.stringify(fast.problems));
  });

  it("runs every conversion under CPU-time and address-space limits that grow with the disk", async () => {
    const raw = join(dir, "noise.raw");
    const fd = openSync(raw, "w");
    const block = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < 96; i++)
      writeSync(
        fd,
        block.map(() => Math.floor(Math.random() * 256)),
      );
    closeSync(fd);
    let argv: string[] = [];
    const watch = definePlugin({
      name: "argv",
      enforce: "post",
      hooks: { preConvert: (plan, ctx) => void (argv = ctx.qemu.convertCommand(plan)) },
    });
    const compress = definePlugin({
      name: "compress",
      hooks: { preConvert: (plan) => ({ ...plan, flags: { ...plan.flags, compress: true } }) },
    });
    const pipeline = createPipeline({
      workDir: join(dir, "work"),
      plugins: [compress, watch],
      qemuImg: { convertCpuSeconds: 1, convertCpuSecondsPerGiB: 0 },
    });
    const error = await failure(pipeline.run({ source: raw, destination: join(dir, "noise.qcow2"), to: "qcow2" }));
    assert.deepEqual(argv.slice(0, 4), ["prlimit", "--cpu=1", `--as=${2 * 1024 ** 3}`, "--"]);
    assert.equal(error.code, "qemu-img-failed");
    assert.match(error.message, /killed by its resource limit/);

    const sized = createPipeline({
      workDir: join(dir, "work"),
      plugins: [watch],
      qemuImg: { convertCpuSeconds: 30, convertCpuSecondsPerGiB: 100, convertAddressSpace: "1G" },
    });
    await sized.run({ source: raw, destination: join(dir, "noise.vdi"), to: "vdi" });
    assert.deepEqual(
      argv.slice(0, 4),
      ["prlimit", "--cpu=130", `--as=${1024 ** 3}`, "--"],
      "30 s plus 100 s for the started GiB",
    );
  });
});
