import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { constants } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { diskpipe, repoRoot } from "../helpers/cli.ts";
import { makeImage, tempDir } from "../helpers/images.ts";
import { writeSlowConfig } from "../helpers/slow-config.ts";

const MiB = 1024 * 1024;

/** Pids of live processes whose command line mentions `text`. */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, "utf8").includes(text)) pids.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

async function until(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  for (const deadline = Date.now() + ms; !check(); await sleep(20))
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
}

describe("convert under signals: nothing left behind, no orphan qemu-img (issue 16.6)", () => {
  const { dir, cleanup } = tempDir("diskpipe-signals-");
  const work = join(dir, "work");
  let source = "";
  let config = "";
  const children: ChildProcess[] = [];

  before(() => {
    const raw = join(dir, "data.raw");
    writeFileSync(raw, Buffer.alloc(48 * MiB, 0x5a));
    source = makeImage(raw, "qcow2", join(dir, "data.qcow2"));
    // qemu-img -r holds the conversion to 4 MiB/s: about 12 s, time enough to signal it mid-way.
    config = join(dir, "slow.config.mjs");
    writeSlowConfig(config, { workDir: work, mibPerSecond: 4 });
  });
  after(() => {
    for (const child of children) child.kill("SIGKILL");
    cleanup();
  });

  /** Starts a slow conversion into `out/<name>` and resolves once qemu-img writes its temporary output. */
  async function startConversion(
    name: string,
  ): Promise<{ child: ChildProcess; out: string; exited: Promise<number | null>; stderr: () => string }> {
    const out = join(dir, `out-${name}`);
    mkdirSync(out, { recursive: true });
    const child = spawn(
      process.execPath,
      [
        join(repoRoot, "bin", "diskpipe.mjs"),
        "--config",
        config,
        "convert",
        source,
        join(out, "disk.vmdk"),
        "--to",
        "vmdk",
      ],
      {
        stdio: ["ignore", "ignore", "pipe"],
      },
    );
    children.push(child);
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 + constants.signals[signal] : null))),
    );
    await until(
      () =>
        readdirSync(out).some((n) => n.includes(".diskpipe-tmp-")) &&
        processesMentioning(join(out, ".disk.vmdk")).length > 0,
      "qemu-img to start writing",
    );
    return { child, out, exited, stderr: () => stderr };
  }

  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
    ["SIGHUP", 129],
  ] as const) {
    it(`${signal} while qemu-img runs: exit ${code}, the temporary output removed, qemu-img stopped`, async () => {
      const run = await startConversion(signal);
      run.child.kill(signal);
      assert.equal(await run.exited, code, run.stderr());
      assert.deepEqual(readdirSync(run.out), [], "something was left beside the destination");
      assert.deepEqual(processesMentioning(join(run.out, ".disk.vmdk")), [], "qemu-img outlived diskpipe");
      assert.deepEqual(existsSync(join(work, "diskpipe")) ? readdirSync(join(work, "diskpipe")) : [], []);
      assert.match(run.stderr(), /\[aborted\]/);
    });
  }

  it("SIGKILL of diskpipe: qemu-img dies with it, and the next run into the directory removes the dead run's file", async () => {
    const run = await startConversion("kill");
    run.child.kill("SIGKILL");
    await run.exited;
    await until(
      () => processesMentioning(join(run.out, ".disk.vmdk")).length === 0,
      "qemu-img to die with its parent",
      5000,
    );
    const left = readdirSync(run.out);
    assert.equal(left.length, 1, "the killed run's temporary output is expected to stay until the next run");
    const next = diskpipe(["convert", source, join(run.out, "other.qcow2"), "--to", "qcow2"]);
    assert.equal(next.status, 0, next.stderr);
    assert.deepEqual(readdirSync(run.out), ["other.qcow2"], "the dead run's temporary file is still there");
  });

  it("refuses VMDK subformats that write extent files beside the output (usage, nothing written)", () => {
    const out = join(dir, "out-flat");
    mkdirSync(out);
    for (const subformat of ["monolithicFlat", "twoGbMaxExtentFlat", "twoGbMaxExtentSparse", "vmfs"]) {
      const run = diskpipe(["convert", source, join(out, "flat.vmdk"), "--to", "vmdk", "--subformat", subformat]);
      assert.equal(run.status, 2, run.stderr);
      assert.match(run.stderr, /extent files.*\[usage\]/);
      assert.deepEqual(readdirSync(out), []);
    }
  });
});
