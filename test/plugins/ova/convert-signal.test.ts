import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { constants } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { gzipSync } from "node:zlib";
import { repoRoot } from "../../helpers/cli.ts";
import { makeDataImage, makeImage, makeRaw, tempDir } from "../../helpers/images.ts";
import { applianceMembers, writeTar, type Member } from "./archive.ts";
import { writeSlowConfig } from "../../helpers/slow-config.ts";

const MiB = 1024 * 1024;

/** Live processes (not this one) whose process group is `group` or whose command line mentions `text`. */
function processesOf(group: number, text: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      // Fields after the command's closing parenthesis: state, ppid, pgrp.
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const [, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8");
      if (Number(pgrp) === group || cmdline.includes(text)) found.push(`${name}: ${cmdline.replaceAll("\0", " ")}`);
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

/** Polls `check` every 20 ms until it holds; fails after `ms` with `what` (bounded: no fixed sleep decides anything). */
async function until(check: () => boolean, what: string | (() => string), ms = 60_000): Promise<void> {
  for (const deadline = Date.now() + ms; !check(); await sleep(20))
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${typeof what === "string" ? what : what()}`);
}

describe("diskpipe convert X.ova under SIGTERM: exit 143, nothing left, no qemu-img left", () => {
  const { dir, cleanup } = tempDir("diskpipe-ova-signal-");
  const work = join(dir, "work");
  const config = join(dir, "slow.config.mjs");
  const children: ChildProcess[] = [];
  /** Disk 1: 3 MiB, sparse (streamOptimized); disk 2: 64 MiB of data without zero runs (monolithicSparse). */
  let small: Buffer;
  let big: Buffer;

  before(() => {
    small = readFileSync(
      makeImage(makeRaw(join(dir, "d1.raw"), 3 * MiB, 5), "vmdk", join(dir, "d1.vmdk"), [
        "-o",
        "subformat=streamOptimized",
      ]),
    );
    big = readFileSync(makeImage(makeDataImage(join(dir, "d2.raw"), 64 * MiB, 3), "vmdk", join(dir, "d2.vmdk")));
    // qemu-img -r holds conversions to 8 MiB/s: the 64 MiB disk takes about 8 s, time enough to signal.
    writeSlowConfig(config, { workDir: work, mibPerSecond: 8 });
  });
  after(() => {
    for (const child of children) child.kill("SIGKILL");
    cleanup();
  });

  /** Writes `members` as `<name>/vm.ova` and starts converting it into `<name>/out`, in a process group of its own. */
  async function start(name: string, members: Member[], more: { workRoot?: string; args?: string[] } = {}) {
    const out = join(dir, name, "out");
    mkdirSync(out, { recursive: true });
    const archive = await writeTar(join(dir, name, "vm.ova"), members);
    const root = more.workRoot ?? work;
    const used = more.workRoot
      ? writeSlowConfig(join(dir, `${name}.config.mjs`), { workDir: root, mibPerSecond: 8 })
      : config;
    const args = ["--config", used, "convert", archive, out, "--to", "qcow2", ...(more.args ?? [])];
    const child = spawn(process.execPath, [join(repoRoot, "bin", "diskpipe.mjs"), ...args], {
      cwd: join(dir, name),
      detached: true,
      stdio: ["ignore", "ignore", "pipe"],
    });
    children.push(child);
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.once("exit", (code, signal) => resolve(code ?? (signal ? 128 + constants.signals[signal] : null))),
    );
    /** Sends SIGTERM, then checks the exit, the output directory, the work root and the process group. */
    const terminate = async () => {
      child.kill("SIGTERM");
      assert.equal(await exited, 143, stderr);
      assert.deepEqual(readdirSync(out), [], "an output or a temporary file was left");
      assert.deepEqual(readdirSync(join(root, "diskpipe")), [], "the job left files in the work root");
      const sockets = readdirSync("/tmp").filter((n) => n.startsWith(`diskpipe-nbd-${child.pid}@`));
      assert.deepEqual(sockets, [], "qemu-nbd's socket directory was left in /tmp");
      const survivors = () => processesOf(child.pid!, out);
      await until(
        () => survivors().length === 0,
        () => `qemu-img to die with diskpipe: ${survivors().join("; ")}`,
        5000,
      );
      assert.match(stderr, /\[aborted\]/);
      assert.doesNotMatch(stderr, /^\s+at /m, "no stack trace");
      return stderr;
    };
    return { out, terminate, pid: child.pid };
  }

  it("while disk 2 converts (disk 1 written, not committed)", async () => {
    const disks = [small, big].map((data, i) => ({
      href: `vm-disk${i + 1}.vmdk`,
      capacityGiB: 0,
      capacityBytes: (i === 0 ? 3 : 64) * MiB,
      data,
    }));
    const { out, terminate } = await start("converting", applianceMembers(disks));
    await until(
      () =>
        readdirSync(out).some((n) => n.startsWith(".vm-disk2.qcow2.diskpipe-tmp-")) &&
        processesOf(-1, join(out, ".vm-disk2.qcow2")).length > 0,
      "qemu-img to start writing disk 2",
    );
    assert.ok(
      readdirSync(out).some((n) => n.startsWith(".vm-disk1.qcow2.diskpipe-tmp-")),
      `disk 1 waits, written but not committed: ${readdirSync(out).join(", ")}`,
    );
    await terminate();
  });

  it("while the archive is extracted (a gzip member of 4 GiB of zeros)", async () => {
    // 64 gzip members of 64 MiB of zeros, one after the other: one gzip stream of 4 GiB of zeros, a few MiB stored.
    const zeros = Buffer.concat(Array.from({ length: 64 }, () => gzipSync(Buffer.alloc(64 * MiB), { level: 1 })));
    const disks = [
      { href: "vm-disk1.vmdk", capacityGiB: 0, capacityBytes: 64 * MiB, data: big },
      { href: "vm-disk2.vmdk", capacityGiB: 4, gzip: true, data: zeros },
    ];
    const [ovf, mf, d1, d2] = applianceMembers(disks);
    // Disk 2 first in the archive: a signal that came late would still find disk 1 converting, slowly.
    const { out, terminate } = await start("extracting", [ovf!, mf!, d2!, d1!]);
    const extracted = () => readdirSync(work, { recursive: true }).map(String);
    await until(() => extracted().some((n) => /ova-[^/]*\/disk2\.vmdk$/.test(n)), "disk 2 to be extracted");
    assert.deepEqual(readdirSync(out), [], "nothing is written beside the output before the extraction ends");
    assert.match(await terminate(), /unpacking .*vm\.ova was aborted \[aborted\]/);
  });

  it("while both disks convert side by side, with --verify under a deep work root (qemu-nbd's sockets in /tmp)", async () => {
    const disks = [1, 2].map((n) => ({ href: `vm-disk${n}.vmdk`, capacityGiB: 0, capacityBytes: 64 * MiB, data: big }));
    const deep = join(dir, "w".repeat(100));
    const { out, terminate, pid } = await start("side-by-side", applianceMembers(disks), {
      workRoot: deep,
      args: ["--verify"],
    });
    const writing = (n: number) => processesOf(-1, join(out, `.vm-disk${n}.qcow2`)).length > 0;
    const serving = () => processesOf(-1, `--socket=/tmp/diskpipe-nbd-${pid}@`).length;
    await until(() => writing(1) && writing(2) && serving() > 0, "both disks to convert and qemu-nbd to serve");
    await terminate();
  });
});
