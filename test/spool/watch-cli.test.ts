import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { repoRoot } from "../helpers/cli.ts";
import { makeImage, makeRaw, qemuImg, sameDisk, tempDir } from "../helpers/images.ts";
import { filesIn, readJournal, waitFor, writeSlowConfig } from "./helpers.ts";

interface Watcher {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the real CLI: `node bin/diskpipe.mjs --config CONFIG watch ROOT`. */
function startWatcher(root: string, config: string, slowMs: number): Watcher {
  return spawnWatcher([join(repoRoot, "bin", "diskpipe.mjs"), "--config", config, "watch", root, "--settle", "100"], {
    SLOW_MS: String(slowMs),
  });
}

/** Starts `diskpipe watch ROOT` from the sources (through tsx), so the test runs the code as it is now, built or not. */
function startSourceWatcher(root: string): Watcher {
  const argv = JSON.stringify(["node", "diskpipe", "watch", root, "--settle", "100"]);
  const script = `const { main } = await import("./src/cli/main.ts"); process.exitCode = await main(${argv});`;
  return spawnWatcher(["--import", "tsx", "--input-type=module", "-e", script], {});
}

function spawnWatcher(args: string[], env: Record<string, string>): Watcher {
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, stderr: () => stderr, exited };
}

const tempsIn = (root: string) => filesIn(root, "done").filter((name) => name.includes(".diskpipe-tmp-"));

describe("diskpipe watch (real CLI, SIGKILL and SIGTERM)", () => {
  const { dir, cleanup } = tempDir("diskpipe-watch-");
  let raw = "";
  let vmdk = "";
  let config = "";
  const running: Watcher[] = [];
  const watch = (root: string, slowMs: number) => {
    const watcher = startWatcher(root, config, slowMs);
    running.push(watcher);
    return watcher;
  };

  before(() => {
    raw = makeRaw(join(dir, "disk.raw"), 64 * 1024 * 1024);
    vmdk = makeImage(raw, "vmdk", join(dir, "disk.vmdk"));
    config = writeSlowConfig(join(dir, "slow.config.mjs"), "postConvert");
  });
  after(() => {
    for (const watcher of running) if (watcher.child.exitCode === null) watcher.child.kill("SIGKILL");
    cleanup();
  });

  it("finishes every job exactly once after a SIGKILL mid-job, with no partial file in done/", async () => {
    const root = join(dir, "killed");
    const first = watch(root, 60_000);
    await waitFor(() => first.stderr().includes("watching"), "the watcher to start");
    mkdirSync(join(root, "incoming", "qcow2"), { recursive: true });
    copyFileSync(vmdk, join(root, "incoming", "qcow2", "disk.vmdk"));
    const id = await waitFor(
      () => readJournal(root).find((e) => e.state === "running")?.id,
      "the journal to say running",
    );
    // The output is converted under its temporary name and the slow plugin holds postConvert: kill now.
    await waitFor(() => tempsIn(root).length === 1, "the temporary output in done/");
    first.child.kill("SIGKILL");
    assert.equal((await first.exited).signal, "SIGKILL");
    assert.equal(filesIn(root, "work").length, 1, "the claimed file waits in work/");

    const second = watch(root, 0);
    // The journal records done before the claimed file is removed (a crash between repeats the step).
    await waitFor(
      () => readJournal(root).some((e) => e.id === id && e.state === "done") && filesIn(root, "work").length === 0,
      "the rerun to finish",
      60_000,
    );
    assert.deepEqual(filesIn(root, "done"), ["disk.qcow2"], "one output, no partial file");
    assert.ok(sameDisk(raw, "raw", join(root, "done", "disk.qcow2"), "qcow2"));
    assert.deepEqual(filesIn(root, "work"), []);
    const journal = readJournal(root);
    assert.deepEqual(new Set(journal.map((e) => e.id)), new Set([id]), "one job");
    assert.deepEqual(
      journal.map((e) => e.state),
      ["queued", "running", "running", "done"],
    );
    second.child.kill("SIGTERM");
    assert.equal((await second.exited).code, 0);

    const third = watch(root, 0);
    // Recovery is done before "watching" is printed: a job it would redo is journaled by then.
    await waitFor(() => third.stderr().includes("watching"), "the third start");
    third.child.kill("SIGTERM");
    assert.equal((await third.exited).code, 0);
    assert.equal(readJournal(root).length, 4, "a done job is not redone");
    assert.deepEqual(filesIn(root, "done"), ["disk.qcow2"]);
  });

  it("stops cleanly on SIGTERM: running jobs aborted and queued again, nothing partial left, rerun at the next start", async () => {
    const root = join(dir, "termed");
    const first = watch(root, 60_000);
    await waitFor(() => first.stderr().includes("watching"), "the watcher to start");
    mkdirSync(join(root, "incoming", "vdi"), { recursive: true });
    copyFileSync(vmdk, join(root, "incoming", "vdi", "disk.vmdk"));
    const id = await waitFor(
      () => readJournal(root).find((e) => e.state === "running")?.id,
      "the journal to say running",
    );
    await waitFor(() => tempsIn(root).length === 1, "the temporary output in done/");
    const t0 = Date.now();
    first.child.kill("SIGTERM");
    const exit = await first.exited;
    assert.equal(exit.code, 0, first.stderr());
    assert.ok(Date.now() - t0 < 10_000, "stops promptly");
    assert.match(first.stderr(), /stopped/);
    assert.deepEqual(filesIn(root, "done"), [], "the aborted output is removed");
    assert.equal(filesIn(root, "work").length, 1);
    assert.ok(!existsSync(join(root, "watch.pid")), "the lock is released");
    const last = readJournal(root).at(-1)!;
    assert.equal(last.id, id);
    assert.equal(last.state, "queued");

    const second = watch(root, 0);
    await waitFor(() => readJournal(root).some((e) => e.id === id && e.state === "done"), "the rerun", 60_000);
    assert.deepEqual(filesIn(root, "done"), ["disk.vdi"]);
    assert.ok(sameDisk(raw, "raw", join(root, "done", "disk.vdi"), "vdi"));
    second.child.kill("SIGINT");
    assert.equal((await second.exited).code, 0);
  });

  it("starts again after an older run left a 255-byte name's failure half-recorded, and completes it (it used to exit 1)", async () => {
    const root = join(dir, "long-name");
    const id = "aaac1-000021";
    const at = "2025-01-01T00:00:00.000Z";
    const name = `${"h".repeat(249)}.qcow2`;
    const work = `${id}--${name}`.slice(-255);
    for (const folder of ["incoming/raw", "work", "done", "failed"]) mkdirSync(join(root, folder), { recursive: true });
    const entries = [
      {
        at,
        id,
        state: "queued",
        name,
        to: "raw",
        work,
        output: `${"h".repeat(249)}.raw`,
        outputExisted: false,
        sidecar: false,
      },
      { at, id, state: "running", run: 1 },
      { at, id, state: "failed", error: { code: "image-rejected", message: "nope", at }, failed: name },
    ];
    writeFileSync(join(root, "journal.jsonl"), entries.map((e) => `${JSON.stringify(e)}\n`).join(""));
    qemuImg("create", "-q", "-f", "qcow2", join(root, "work", work), "1M");
    const watcher = startSourceWatcher(root);
    running.push(watcher);
    const outcome = await Promise.race([
      waitFor(() => watcher.stderr().includes("watching") && "watching", "the watcher to start", 60_000).catch(
        (error: Error) => error.message,
      ),
      watcher.exited.then(({ code }) => `exited ${code}: ${watcher.stderr()}`),
    ]);
    assert.equal(outcome, "watching");
    assert.deepEqual(filesIn(root, "work"), []);
    const failed = filesIn(root, "failed");
    assert.equal(failed.length, 2, failed.join(" "));
    const errorFile = failed.find((n) => n.endsWith(".error.json"))!;
    assert.equal(JSON.parse(readFileSync(join(root, "failed", errorFile), "utf8")).code, "image-rejected");
    watcher.child.kill("SIGTERM");
    assert.equal((await watcher.exited).code, 0, watcher.stderr());
  });
});
