import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPipeline } from "../../src/create-pipeline.ts";
import { defaultConfig } from "../../src/scripting.ts";
import { createSpool, type Spool } from "../../src/spool/spool.ts";
import type { SpoolJob } from "../../src/spool/types.ts";
import { qemuImg, tempDir } from "../helpers/images.ts";
import { filesIn, lockFolder, nextEvent, nextWarning, readJournal, unlockFolder, within } from "./helpers.ts";

describe("spool: a failure that cannot be recorded at first (failed/ unwritable)", () => {
  const { dir, cleanup } = tempDir("diskpipe-unrecorded-");
  let evil = "";
  const locked = new Set<string>();
  const lock = (path: string) => {
    lockFolder(path);
    locked.add(path);
  };
  const unlock = (path: string) => {
    unlockFolder(path);
    locked.delete(path);
  };
  const open = async (root: string): Promise<Spool> => {
    const spool = createSpool({ root, pipeline: createPipeline(await defaultConfig()), settleMs: 100 });
    await spool.start();
    return spool;
  };
  /** Drops the hostile image into a spool whose failed/ is locked; resolves once its run has failed. */
  const failWhileLocked = async (spool: Spool, root: string, name: string): Promise<SpoolJob> => {
    const queued = nextEvent(spool, (e) => e.type === "queued" && e.job.name === name);
    lock(join(root, "failed"));
    mkdirSync(join(root, "incoming", "raw"), { recursive: true });
    copyFileSync(evil, join(root, "incoming", "raw", name));
    const { job } = await within(queued, 20_000, "the claim");
    const failed = nextEvent(spool, (e) => e.type === "failed" && e.job.id === job.id);
    // Whichever comes first: the failed event, or the spool giving up on the job (idle).
    await within(Promise.race([failed, spool.idle()]), 60_000, "the job to fail");
    return spool.job(job.id)!;
  };
  const assertRecorded = (root: string, job: SpoolJob, name: string) => {
    assert.deepEqual(filesIn(root, "failed"), [name, `${name}.error.json`]);
    assert.equal(JSON.parse(readFileSync(join(root, "failed", `${name}.error.json`), "utf8")).code, "image-rejected");
    assert.deepEqual(filesIn(root, "work"), []);
    const states = readJournal(root)
      .filter((e) => e.id === job.id)
      .map((e) => e.state);
    assert.deepEqual(states, ["queued", "running", "failed"]);
  };

  before(() => {
    qemuImg("create", "-q", "-f", "qcow2", join(dir, "base.qcow2"), "1M");
    evil = join(dir, "evil.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", "-b", join(dir, "base.qcow2"), "-F", "qcow2", evil);
  });
  after(() => {
    for (const path of locked) unlockFolder(path);
    cleanup();
  });

  it("shows the job failed at once, warns with a code, and completes the record by itself once failed/ is writable", async () => {
    const root = join(dir, "live");
    const spool = await open(root);
    try {
      const warned = nextWarning((w) => w.code === "DISKPIPE_SPOOL_UNRECORDED" && w.message.includes("evil.qcow2"));
      const job = await failWhileLocked(spool, root, "evil.qcow2");
      assert.equal(job.state, "failed", "the job does not stay running while its record waits");
      assert.equal(job.error?.code, "image-rejected");
      await within(warned, 10_000, "a DISKPIPE_SPOOL_UNRECORDED warning");
      assert.deepEqual(filesIn(root, "failed"), [], "nothing could be written yet");
      assert.equal(filesIn(root, "work").length, 1, "the file waits in work/");
      assert.ok(existsSync(job.source));

      unlock(join(root, "failed"));
      await within(spool.idle(), 60_000, "the failure to be recorded without a restart");
      assertRecorded(root, job, "evil.qcow2");
      assert.equal(spool.job(job.id)?.failedPath, join(root, "failed", "evil.qcow2"));
    } finally {
      await spool.stop();
    }
  });

  it("stops promptly while a record waits, and the next start completes it", async () => {
    const root = join(dir, "restart");
    const first = await open(root);
    const job = await failWhileLocked(first, root, "late.qcow2");
    assert.equal(job.state, "failed");
    await within(first.stop(), 10_000, "stop");
    unlock(join(root, "failed"));
    const second = await open(root);
    try {
      assertRecorded(root, job, "late.qcow2");
      assert.equal(second.job(job.id)?.state, "failed");
    } finally {
      await second.stop();
    }
  });

  it("starts even when failed/ is unwritable at start, and completes the recovered failure once it is writable", async () => {
    const root = join(dir, "at-start");
    const id = "aaaa9-000009";
    const at = "2025-01-01T00:00:00.000Z";
    for (const folder of ["incoming/raw", "work", "done", "failed"]) mkdirSync(join(root, folder), { recursive: true });
    const entries = [
      {
        at,
        id,
        state: "queued",
        name: "old.qcow2",
        to: "raw",
        work: `${id}--old.qcow2`,
        output: "old.raw",
        outputExisted: false,
        sidecar: false,
      },
      { at, id, state: "running", run: 1 },
      { at, id, state: "failed", error: { code: "image-rejected", message: "nope", at }, failed: "old.qcow2" },
    ];
    writeFileSync(join(root, "journal.jsonl"), entries.map((e) => `${JSON.stringify(e)}\n`).join(""));
    copyFileSync(evil, join(root, "work", `${id}--old.qcow2`));
    lock(join(root, "failed"));
    const warned = nextWarning((w) => w.code === "DISKPIPE_SPOOL_UNRECORDED" && w.message.includes("old.qcow2"));
    const spool = await open(root);
    try {
      assert.equal(spool.job(id)?.state, "failed");
      await within(warned, 10_000, "a DISKPIPE_SPOOL_UNRECORDED warning");
      unlock(join(root, "failed"));
      await within(spool.idle(), 60_000, "the recovered failure to be recorded");
      assert.deepEqual(filesIn(root, "failed"), ["old.qcow2", "old.qcow2.error.json"]);
      assert.deepEqual(filesIn(root, "work"), []);
    } finally {
      await spool.stop();
    }
  });
});
