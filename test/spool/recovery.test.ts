import assert from "node:assert/strict";
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPipeline } from "../../src/create-pipeline.ts";
import { defaultConfig } from "../../src/scripting.ts";
import { Journal, type JournalEntry } from "../../src/spool/journal.ts";
import { parseSidecar } from "../../src/spool/sidecar.ts";
import { createSpool } from "../../src/spool/spool.ts";
import { isDiskpipeError } from "../../src/core/errors.ts";
import { makeImage, makeRaw, sameDisk, tempDir } from "../helpers/images.ts";
import { filesIn, nextWarning, readJournal, waitFor, within } from "./helpers.ts";

const at = "2025-01-01T00:00:00.000Z";

/** A spool folder whose journal and files look like a crash left them. */
function crashedSpool(base: string, name: string, entries: JournalEntry[]): string {
  const root = join(base, name);
  for (const folder of ["incoming/qcow2", "work", "done", "failed"]) mkdirSync(join(root, folder), { recursive: true });
  writeFileSync(join(root, "journal.jsonl"), entries.map((e) => `${JSON.stringify(e)}\n`).join(""));
  return root;
}

describe("spool recovery after a crash (crafted journals)", () => {
  const { dir, cleanup } = tempDir("diskpipe-recovery-");
  let raw = "";
  let vmdk = "";
  let qcow2 = "";
  before(() => {
    raw = makeRaw(join(dir, "disk.raw"), 4 * 1024 * 1024);
    vmdk = makeImage(raw, "vmdk", join(dir, "disk.vmdk"));
    qcow2 = makeImage(raw, "qcow2", join(dir, "disk.qcow2"));
  });
  after(cleanup);

  const open = async (root: string) => {
    const spool = createSpool({ root, pipeline: createPipeline(await defaultConfig()), settleMs: 100 });
    await spool.start();
    return spool;
  };
  const claim = (id: string): JournalEntry => ({
    at,
    id,
    state: "queued",
    name: "disk.vmdk",
    to: "qcow2",
    work: `${id}--disk.vmdk`,
    output: "disk.qcow2",
    outputExisted: false,
    sidecar: false,
  });

  it("marks a running job done without converting again when its output was committed, and removes temporary files from done/", async () => {
    const id = "aaaa1-000001";
    const root = crashedSpool(dir, "committed", [claim(id), { at, id, state: "running", run: 1 }]);
    copyFileSync(vmdk, join(root, "work", `${id}--disk.vmdk`));
    copyFileSync(qcow2, join(root, "done", "disk.qcow2"));
    writeFileSync(join(root, "done", ".other.qcow2.diskpipe-tmp-0badf00d"), "partial");
    const spool = await open(root);
    const job = spool.job(id)!;
    assert.equal(job.state, "done");
    assert.equal(job.recovered, true);
    assert.deepEqual(filesIn(root, "work"), []);
    assert.deepEqual(filesIn(root, "done"), ["disk.qcow2"]);
    assert.deepEqual(
      readJournal(root)
        .filter((e) => e.id === id)
        .map((e) => e.state),
      ["queued", "running", "done"],
      "not run again",
    );
    await spool.stop();
  });

  it("reruns a running job from its claimed file when nothing was committed", async () => {
    const id = "aaaa2-000002";
    const root = crashedSpool(dir, "rerun", [claim(id), { at, id, state: "running", run: 1 }]);
    copyFileSync(vmdk, join(root, "work", `${id}--disk.vmdk`));
    const spool = await open(root);
    const job = await waitFor(() => (spool.job(id)?.state === "done" ? spool.job(id) : undefined), "the rerun");
    assert.equal(job.runs, 2);
    assert.ok(sameDisk(raw, "raw", join(root, "done", "disk.qcow2"), "qcow2"));
    await spool.idle();
    assert.deepEqual(filesIn(root, "work"), []);
    await spool.stop();
  });

  it("finishes a claim the crash interrupted before the rename, as the same job", async () => {
    const id = "aaaa3-000003";
    const root = crashedSpool(dir, "claim", [claim(id)]);
    copyFileSync(vmdk, join(root, "incoming", "qcow2", "disk.vmdk"));
    const spool = await open(root);
    await waitFor(() => spool.job(id)?.state === "done", "the claimed job");
    await spool.idle();
    assert.equal(spool.jobs().length, 1, "the file was not claimed twice");
    await spool.stop();
  });

  it("does not redo a job the journal says is done, and removes its leftover claimed file", async () => {
    const id = "aaaa4-000004";
    const root = crashedSpool(dir, "done", [
      claim(id),
      { at, id, state: "running", run: 1 },
      { at, id, state: "done" },
    ]);
    copyFileSync(vmdk, join(root, "work", `${id}--disk.vmdk`));
    copyFileSync(qcow2, join(root, "done", "disk.qcow2"));
    const spool = await open(root);
    assert.equal(spool.job(id)?.state, "done");
    assert.deepEqual(filesIn(root, "work"), []);
    assert.equal(readJournal(root).length, 3);
    await spool.stop();
  });

  it("completes a failure whose file was still in work/", async () => {
    const id = "aaaa5-000005";
    const error = { code: "image-rejected", message: "nope", stage: "inspect", at };
    const root = crashedSpool(dir, "failing", [claim(id), { at, id, state: "failed", error, failed: "disk.vmdk" }]);
    copyFileSync(vmdk, join(root, "work", `${id}--disk.vmdk`));
    const spool = await open(root);
    assert.deepEqual(filesIn(root, "failed"), ["disk.vmdk", "disk.vmdk.error.json"]);
    assert.equal(JSON.parse(readFileSync(join(root, "failed", "disk.vmdk.error.json"), "utf8")).code, "image-rejected");
    assert.deepEqual(filesIn(root, "work"), []);
    await spool.stop();
  });

  it("starts after an older run left a 255-byte name's failure half-recorded, and completes it", async () => {
    const id = "aaab1-000011";
    const name = `${"h".repeat(249)}.qcow2`;
    // What diskpipe before the fix journaled: a work name of 255 bytes, and failed/<name> whose error file cannot fit.
    const work = `${id}--${name}`.slice(-255);
    const error = { code: "image-rejected", message: "nope", stage: "inspect", at };
    const root = crashedSpool(dir, "long-failed", [
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
      { at, id, state: "failed", error, failed: name },
    ]);
    copyFileSync(qcow2, join(root, "work", work));
    const spool = await open(root);
    try {
      const job = spool.job(id)!;
      assert.equal(job.state, "failed");
      assert.ok(job.failedPath && existsSync(job.failedPath), `the file is in failed/ (${job.failedPath})`);
      assert.equal(JSON.parse(readFileSync(`${job.failedPath}.error.json`, "utf8")).code, "image-rejected");
      assert.deepEqual(filesIn(root, "work"), []);
      const states = readJournal(root)
        .filter((e) => e.id === id)
        .map((e) => e.state);
      assert.equal(states.at(-1), "failed");
      assert.ok(!states.includes("done"));
    } finally {
      await spool.stop();
    }
  });

  it("reports one job whose recovery fails with a warning and a code, recovers the others, and starts", async () => {
    const bad = "aaab2-000012";
    const good = "aaab3-000013";
    const error = { code: "image-rejected", message: "nope", stage: "inspect", at };
    const root = crashedSpool(dir, "one-bad", [
      claim(bad),
      { at, id: bad, state: "done" },
      claim(good),
      { at, id: good, state: "failed", error, failed: "disk.vmdk" },
    ]);
    // The done job's leftover cannot be removed: something made a folder of that name.
    mkdirSync(join(root, "work", `${bad}--disk.vmdk`, "inside"), { recursive: true });
    copyFileSync(vmdk, join(root, "work", `${good}--disk.vmdk`));
    const warned = nextWarning((w) => w.code === "DISKPIPE_SPOOL_RECOVERY" && w.message.includes(bad));
    const spool = await open(root);
    try {
      const warning = await within(warned, 10_000, "a DISKPIPE_SPOOL_RECOVERY warning");
      assert.doesNotMatch(warning.message, /\n/);
      assert.equal(spool.job(bad)?.state, "done");
      assert.deepEqual(filesIn(root, "failed"), ["disk.vmdk", "disk.vmdk.error.json"], "the other job was recovered");
      assert.deepEqual(filesIn(root, "work"), [`${bad}--disk.vmdk`]);
    } finally {
      await spool.stop();
    }
  });

  it("turns any error escaping start() into a one-line DiskpipeError with a stable code", async () => {
    const file = join(dir, "not-a-folder");
    writeFileSync(file, "");
    const journalDir = crashedSpool(dir, "journal-dir", []);
    rmSync(join(journalDir, "journal.jsonl"));
    mkdirSync(join(journalDir, "journal.jsonl"));
    for (const root of [file, journalDir]) {
      const spool = createSpool({ root, pipeline: createPipeline(await defaultConfig()), settleMs: 100 });
      const error: unknown = await spool.start().then(
        () => undefined,
        (e: unknown) => e,
      );
      if (!isDiskpipeError(error)) assert.fail(`${root}: ${String(error)}`);
      assert.equal(error.code, "io-failed");
      assert.doesNotMatch(error.message, /\n/);
      assert.ok(error.message.includes(root), error.message);
    }
  });

  it("cuts a line torn by a crash and keeps appending cleanly", async () => {
    const root = crashedSpool(dir, "torn", [claim("aaaa6-000006"), { at, id: "aaaa6-000006", state: "done" }]);
    appendFileSync(join(root, "journal.jsonl"), '{"at":"2025-01-01T00:00:00.000Z","id":"aaaa6-0');
    const { journal, entries } = await Journal.open(join(root, "journal.jsonl"));
    assert.equal(entries.length, 2);
    await journal.append({ at, id: "aaaa6-000006", state: "retried", incoming: "incoming/qcow2/disk.vmdk" });
    await journal.close();
    assert.equal(readJournal(root).length, 3, "every line parses");
  });

  it("refuses a second watcher on the same spool", async () => {
    const root = crashedSpool(dir, "locked", []);
    const first = await open(root);
    await assert.rejects(open(root), /already watched/);
    await first.stop();
    const again = await open(root);
    await again.stop();
  });

  it("never takes over a lock of another host, nor removes its temporary outputs (a spool on shared storage)", async () => {
    const { HOST_TAG } = await import("../../src/core/io/temp.ts");
    const root = crashedSpool(dir, "shared-host", []);
    writeFileSync(join(root, "watch.pid"), "4194000 other-host\n");
    await assert.rejects(open(root), /watched by process 4194000 on other-host \(if that watcher is gone, remove/);
    rmSync(join(root, "watch.pid"));
    const other = HOST_TAG === "00000000" ? "11111111" : "00000000";
    const theirs = `.x.qcow2.diskpipe-tmp-${other}-4194000-0badf00d`;
    const ours = `.y.qcow2.diskpipe-tmp-${HOST_TAG}-4194001-0badf00d`;
    writeFileSync(join(root, "done", theirs), "partial");
    writeFileSync(join(root, "done", ours), "partial");
    const spool = await open(root);
    await spool.stop();
    assert.ok(existsSync(join(root, "done", theirs)), "another host's temporary output was removed");
    assert.ok(!existsSync(join(root, "done", ours)), "this host's dead temporary output stayed");
  });

  it("validates sidecars with zod and names each bad field", () => {
    assert.deepEqual(
      parseSidecar('{"from":"vmdk","maxSize":"2G","checksum":"sha256:' + "a".repeat(64) + '"}', "x.json"),
      {
        from: "vmdk",
        maxSize: 2 * 1024 ** 3,
        checksum: `sha256:${"a".repeat(64)}`,
      },
    );
    assert.throws(() => parseSidecar("{", "x.json"), /bad sidecar x\.json: not JSON/);
    assert.throws(() => parseSidecar('{"checksum":"md5:00"}', "x.json"), /checksum: expected sha256:HEX or sha512:HEX/);
    assert.throws(() => parseSidecar('{"options":[]}', "x.json"), /options/);
    assert.throws(() => parseSidecar('{"extra":1}', "x.json"), /extra/);
    assert.ok(!existsSync(join(dir, "x.json")));
  });
});
