import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { MAX_SOCKET_PATH, socketDir, sweepStaleSocketDirs } from "../../../src/core/content-hash/socket-dir.ts";
import { HOST_TAG, OWNER_TAG } from "../../../src/core/io/temp.ts";
import { createPipeline } from "../../../src/mod.ts";
import { diskpipe, repoRoot } from "../../helpers/cli.ts";
import { makeImage, makeRaw, sameDisk, tempDir } from "../../helpers/images.ts";
import { writeSlowConfig } from "../../helpers/slow-config.ts";

/** The sockets qemu-nbd processes listen on now. */
function nbdSockets(): string[] {
  const sockets: string[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
      if (argv[0] === "qemu-nbd") sockets.push(...argv.filter((a) => a.startsWith("--socket=")).map((a) => a.slice(9)));
    } catch {
      // Gone meanwhile.
    }
  }
  return sockets;
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 60_000; !check(); await sleep(20))
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
}

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

  it("is a private directory under /tmp when it would not, named after this process, leaving nothing in the work directory", async () => {
    const made = await socketDir(deep, "s");
    assert.equal(made.startsWith(`/tmp/diskpipe-nbd-${OWNER_TAG}-`), true, made);
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
      // This process's directories only: other test files (run at the same time) make theirs under /tmp too.
      readdirSync("/tmp").filter((name) => name.startsWith(`diskpipe-nbd-${OWNER_TAG}-`)),
      [],
      "the socket's directory is removed",
    );
  });

  it("a dead run's directory under /tmp is removed by the next run; a live process's, another host's, a link are not", async () => {
    const dead = 2 ** 22 + 7; // above Linux's default pid_max: no process has it
    const made = (owner: string) => mkdtempSync(`/tmp/diskpipe-nbd-${owner}-`);
    const stale = made(`${dead}@${HOST_TAG}`);
    const live = made(`${process.ppid}@${HOST_TAG}`);
    const elsewhere = made(`${dead}@00000000`);
    const target = mkdtempSync(join(dir, "target-"));
    const link = `/tmp/diskpipe-nbd-${dead}@${HOST_TAG}-link${process.pid}`;
    symlinkSync(target, link);
    try {
      const removed = await sweepStaleSocketDirs((pid) => pid !== dead);
      assert.ok(removed.includes(stale.slice(5)), `${stale} is swept`);
      assert.equal(existsSync(stale), false);
      for (const kept of [live, elsewhere, link, target]) assert.equal(existsSync(kept), true, `${kept} is kept`);
    } finally {
      for (const path of [stale, live, elsewhere, link]) rmSync(path, { recursive: true, force: true });
    }
  });

  it("SIGKILL of diskpipe while qemu-nbd serves from /tmp: the next run removes the directory (the CLI)", async () => {
    const raw = makeRaw(join(dir, "slow.raw"), 24 * 1024 * 1024, 3);
    const qcow2 = makeImage(raw, "qcow2", join(dir, "slow.qcow2"));
    // qemu-img -r at 2 MiB/s: qemu-nbd serves the source while the conversion goes on.
    const config = writeSlowConfig(join(dir, "slow.config.mjs"), { workDir: deep, mibPerSecond: 2 });
    const child = spawn(
      process.execPath,
      [
        join(repoRoot, "bin", "diskpipe.mjs"),
        "--config",
        config,
        "convert",
        qcow2,
        join(dir, "k.vdi"),
        "--to",
        "vdi",
        "--verify",
      ],
      { stdio: "ignore" },
    );
    const exited = new Promise((resolve) => child.once("exit", resolve));
    try {
      const mine = `/tmp/diskpipe-nbd-${child.pid}@${HOST_TAG}-`;
      await until(() => nbdSockets().some((s) => s.startsWith(mine)), "qemu-nbd to serve from /tmp");
      child.kill("SIGKILL");
      await exited;
      await until(() => !nbdSockets().some((s) => s.startsWith(mine)), "qemu-nbd to end with diskpipe");
      const left = () => readdirSync("/tmp").filter((name) => `/tmp/${name}`.startsWith(mine));
      assert.equal(left().length, 1, "the killed run's socket directory is expected to stay until the next run");
      const next = diskpipe(["--config", config, "convert", qcow2, join(dir, "next.qcow2"), "--to", "qcow2", "-q"]);
      assert.equal(next.status, 0, next.stderr);
      assert.deepEqual(left(), [], "the dead run's socket directory is still in /tmp");
    } finally {
      child.kill("SIGKILL");
    }
  });
});
