import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { repoRoot } from "../helpers/cli.ts";
import { makeImage, makeRaw, qemuImg, sameDisk, tempDir } from "../helpers/images.ts";

const deno = join(repoRoot, "node_modules", ".bin", "deno");
/** How long the watch-folder example runs before it stops itself. */
const RUN_SECONDS = 15;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[]): Run {
  const result = spawnSync(command, args, {
    cwd: repoRoot,
    encoding: "utf8",
    timeout: 180_000,
    env: { ...process.env, NO_COLOR: "1" },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The same example under `diskpipe run` (Node) and `deno run -A`. */
function both(example: string, args: (runtime: "node" | "deno") => string[]): { node: Run; deno: Run } {
  const script = join("examples", example);
  return {
    node: run(process.execPath, [join(repoRoot, "bin", "diskpipe.mjs"), "run", script, ...args("node")]),
    deno: run(deno, ["run", "-A", script, ...args("deno")]),
  };
}

function sameFiles(a: string, b: string): void {
  const names = readdirSync(a).sort();
  assert.deepEqual(readdirSync(b).sort(), names);
  for (const name of names)
    assert.ok(readFileSync(join(a, name)).equals(readFileSync(join(b, name))), `${name} differs between Node and Deno`);
}

describe("examples run unchanged on Node and Deno", () => {
  const { dir, cleanup } = tempDir();
  const input = join(dir, "in");
  before(() => {
    const raw = makeRaw(join(dir, "disk.raw"), 4 * 1024 * 1024);
    qemuImg("--version");
    spawnSync("mkdir", [input]);
    copyFileSync(raw, join(input, "plain.img"));
    makeImage(raw, "vmdk", join(input, "disk.vmdk"));
    makeImage(raw, "qcow2", join(input, "disk2.qcow2"));
    qemuImg("create", "-f", "qcow2", "-b", join(input, "disk2.qcow2"), "-F", "qcow2", join(input, "evil.qcow2"));
    writeFileSync(join(dir, "disk.raw.zz"), deflateSync(readFileSync(raw)));
  });
  after(cleanup);

  it("verified-copy.ts: a verified conversion and contentHash() print the same content hash on Node and Deno", () => {
    const source = join(input, "disk.vmdk");
    const { node, deno: d } = both("verified-copy.ts", (runtime) => [
      source,
      join(dir, `verified-${runtime}.vdi`),
      "vdi",
    ]);
    assert.equal(node.status, 0, node.stderr);
    assert.equal(d.status, 0, d.stderr);
    const hash = /verified (blk-sha256:[0-9a-f]{64})\n/.exec(node.stdout)?.[1];
    assert.ok(hash, node.stdout);
    assert.equal(node.stdout.split(hash).length - 1, 3, "the result and both files carry one hash");
    assert.equal(d.stdout.replaceAll("verified-deno", "verified-node"), node.stdout);
  });

  it("deno check passes on the public API and the examples", () => {
    const result = run(deno, [
      "check",
      "src/mod.ts",
      ...readdirSync(join(repoRoot, "examples"))
        .filter((f) => f.endsWith(".ts"))
        .map((f) => join("examples", f)),
    ]);
    assert.equal(result.status, 0, result.stderr);
  });

  it("batch.ts: byte-identical outputs, a line per file, non-zero exit when one failed", () => {
    const { node, deno: d } = both("batch.ts", (runtime) => [input, join(dir, `batch-${runtime}`), "raw"]);
    for (const result of [node, d]) {
      assert.equal(result.status, 1, result.stderr);
      assert.match(result.stdout, /^ok {3}disk\.vmdk -> disk\.raw \(vmdk -> raw, 4 MiB\)$/m);
      assert.match(result.stdout, /^FAIL evil\.qcow2: .*\[image-rejected\]$/m);
      assert.match(result.stdout, /^3 converted, 1 failed$/m);
    }
    // Lines come in completion order, which concurrency may change.
    const lines = (text: string) => text.trim().split("\n").sort();
    assert.deepEqual(lines(node.stdout), lines(d.stdout));
    sameFiles(join(dir, "batch-node"), join(dir, "batch-deno"));
    assert.ok(sameDisk(join(dir, "disk.raw"), "raw", join(dir, "batch-node", "disk2.raw"), "raw"));
  });

  it("batch.ts succeeds with exit 0 when every image converts", () => {
    const clean = join(dir, "clean");
    spawnSync("mkdir", [clean]);
    copyFileSync(join(input, "disk.vmdk"), join(clean, "disk.vmdk"));
    const { node, deno: d } = both("batch.ts", (runtime) => [clean, join(dir, `clean-${runtime}`), "qcow2"]);
    assert.equal(node.status, 0, node.stderr);
    assert.equal(d.status, 0, d.stderr);
    // qcow2 layouts depend on the order of qemu-img's out-of-order writes (-W): compare the disks.
    assert.ok(sameDisk(join(dir, "clean-node", "disk.qcow2"), "qcow2", join(dir, "clean-deno", "disk.qcow2"), "qcow2"));
  });

  it("custom-format-plugin.ts: a third-party format detected, unpacked and converted", () => {
    const { node, deno: d } = both("custom-format-plugin.ts", (runtime) => [
      join(dir, "disk.raw.zz"),
      join(dir, `gz-${runtime}.raw`),
      "raw",
    ]);
    assert.equal(node.status, 0, node.stderr);
    assert.equal(d.status, 0, d.stderr);
    assert.match(node.stdout, /\(raw inside zlib\)/);
    assert.ok(readFileSync(join(dir, "gz-node.raw")).equals(readFileSync(join(dir, "gz-deno.raw"))));
    assert.ok(readFileSync(join(dir, "gz-node.raw")).equals(readFileSync(join(dir, "disk.raw"))));
  });

  it("hooks.ts: all five hooks, and the verify veto exits 3 with the plugin's name", () => {
    const ok = both("hooks.ts", (runtime) => [join(input, "disk.vmdk"), join(dir, `hooks-${runtime}.qcow2`), "qcow2"]);
    assert.equal(ok.node.status, 0, ok.node.stderr);
    assert.equal(ok.deno.status, 0, ok.deno.stderr);
    assert.equal(readFileSync(join(dir, "audit.log"), "utf8").trim().split("\n").length, 2);
    const info = JSON.parse(qemuImg("info", "--output=json", "-f", "qcow2", join(dir, "hooks-node.qcow2")));
    assert.equal(info.format, "qcow2");
    const vetoed = both("hooks.ts", (runtime) => [
      join(input, "disk.vmdk"),
      join(dir, `vetoed-${runtime}.qcow2`),
      "qcow2",
      "1M",
    ]);
    for (const result of [vetoed.node, vetoed.deno]) {
      assert.equal(result.status, 3);
      assert.match(result.stderr, /policy \(verify\): virtual size 4194304 is over the quota/);
    }
    assert.equal(existsSync(join(dir, "vetoed-node.qcow2")), false);
  });

  for (const runtime of ["node", "deno"] as const) {
    it(`watch-folder.ts on ${runtime}: converts a dropped file and writes a sha256 manifest beside it`, async () => {
      const root = join(dir, `spool-${runtime}`);
      const script = join("examples", "watch-folder.ts");
      const child =
        runtime === "node"
          ? spawn(process.execPath, [join(repoRoot, "bin", "diskpipe.mjs"), "run", script, root, String(RUN_SECONDS)], {
              cwd: repoRoot,
            })
          : spawn(deno, ["run", "-A", script, root, String(RUN_SECONDS)], { cwd: repoRoot });
      let output = "";
      child.stdout.on("data", (chunk) => (output += chunk));
      child.stderr.on("data", (chunk) => (output += chunk));
      const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
      try {
        await waitFor(
          () => output.includes("watching"),
          30_000,
          () => output,
        );
        mkdirSync(join(root, "incoming", "qcow2"), { recursive: true });
        copyFileSync(join(input, "disk.vmdk"), join(root, "incoming", "qcow2", ".disk.vmdk.part"));
        renameSync(join(root, "incoming", "qcow2", ".disk.vmdk.part"), join(root, "incoming", "qcow2", "disk.vmdk"));
        await waitFor(
          () => output.includes("done   disk.vmdk"),
          60_000,
          () => output,
        );
        const out = join(root, "done", "disk.qcow2");
        const digest = createHash("sha256").update(readFileSync(out)).digest("hex");
        assert.equal(readFileSync(`${out}.sha256`, "utf8"), `${digest}  disk.qcow2\n`);
        assert.ok(sameDisk(join(dir, "disk.raw"), "raw", out, "qcow2"));
      } finally {
        // The example stops itself after RUN_SECONDS (its own timer path, the same stop as Ctrl-C).
        const timer = setTimeout(() => child.kill("SIGKILL"), (RUN_SECONDS + 30) * 1000);
        const code = await exited;
        clearTimeout(timer);
        assert.equal(code, 0, output);
      }
      assert.match(output, /stopped/);
    });
  }
});

async function waitFor(check: () => boolean, ms: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out; output so far:\n${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
