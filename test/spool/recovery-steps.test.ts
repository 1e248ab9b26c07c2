import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { definePlugin } from "../../src/core/plugin.ts";
import type { Spool } from "../../src/spool/spool.ts";
import type { SpoolJob } from "../../src/spool/types.ts";
import { makeImage, makeRaw, tempDir } from "../helpers/images.ts";
import { at, claimOf, crashedSpool, openSpool } from "./crashed.ts";
import { filesIn, nextEvent, nextWarning, readJournal, within } from "./helpers.ts";

/** The job's failure once the spool has recorded it. */
async function failureOf(spool: Spool, id: string): Promise<SpoolJob["error"]> {
  await within(spool.idle(), 30_000, "the spool to settle");
  const job = spool.job(id)!;
  assert.equal(job.state, "failed", `job ${id} is ${job.state}`);
  return job.error;
}

describe("spool recovery: what a start finishes for jobs the journal shows queued or running", () => {
  const { dir, cleanup } = tempDir("diskpipe-recovery-steps-");
  let raw = "";
  let vmdk = "";
  before(() => {
    raw = makeRaw(join(dir, "disk.raw"), 4 * 1024 * 1024);
    vmdk = makeImage(raw, "vmdk", join(dir, "disk.vmdk"));
  });
  after(cleanup);

  it("fails a queued and a running job whose claim cannot be completed with io-failed at stage claim, and reports each", async () => {
    const queued = "bbbb1-000001";
    const running = "bbbb2-000002";
    const root = crashedSpool(dir, "step-fails", [
      claimOf(queued, "one.vmdk", { sidecar: true }),
      claimOf(running, "two.vmdk", { sidecar: true }),
      { at: at(), id: running, state: "running", run: 1 },
    ]);
    for (const [id, name] of [
      [queued, "one.vmdk"],
      [running, "two.vmdk"],
    ]) {
      copyFileSync(vmdk, join(root, "incoming", "qcow2", name!));
      writeFileSync(join(root, "incoming", "qcow2", `${name}.json`), "{}");
      // The sidecar's rename into work/ fails: a folder holds its name.
      mkdirSync(join(root, "work", `${id}--${name}.json`, "inside"), { recursive: true });
    }
    const warned = [queued, running].map((id) =>
      nextWarning((w) => w.code === "DISKPIPE_SPOOL_RECOVERY" && w.message.includes(id)),
    );
    const spool = await openSpool(root);
    try {
      await within(Promise.all(warned), 10_000, "a DISKPIPE_SPOOL_RECOVERY warning for each job");
      for (const id of [queued, running]) {
        const error = await failureOf(spool, id);
        assert.equal(error?.code, "io-failed");
        assert.equal(error?.stage, "claim");
      }
      assert.deepEqual(filesIn(root, "failed"), [
        "one.vmdk",
        "one.vmdk.error.json",
        "one.vmdk.json",
        "two.vmdk",
        "two.vmdk.error.json",
        "two.vmdk.json",
      ]);
      assert.deepEqual(filesIn(root, "done"), []);
    } finally {
      await spool.stop();
    }
  });

  it("fails a claimed job whose file is in neither work/ nor incoming/ with io-failed at stage claim", async () => {
    const id = "bbbb3-000003";
    const root = crashedSpool(dir, "gone", [claimOf(id, "gone.vmdk"), { at: at(), id, state: "running", run: 1 }]);
    const spool = await openSpool(root);
    try {
      const error = await failureOf(spool, id);
      assert.equal(error?.code, "io-failed");
      assert.equal(error?.stage, "claim");
      assert.deepEqual(filesIn(root, "failed"), []);
    } finally {
      await spool.stop();
    }
  });

  it("runs a job without an output name (a folder qemu-img cannot write) again, and refuses it with usage", async () => {
    const id = "bbbb4-000004";
    const root = crashedSpool(dir, "no-output", [claimOf(id, "disk.vmdk", { to: "bogus", output: undefined })]);
    copyFileSync(vmdk, join(root, "work", `${id}--disk.vmdk`));
    const spool = await openSpool(root);
    try {
      const error = await failureOf(spool, id);
      assert.equal(error?.code, "usage");
      assert.match(error?.message ?? "", /unknown target format folder incoming\/bogus\//);
    } finally {
      await spool.stop();
    }
  });

  it("never takes a file that was in done/ before the claim for the job's output", async () => {
    const id = "bbbb5-000005";
    const root = crashedSpool(dir, "output-taken", [
      claimOf(id, "disk.vmdk", { outputExisted: true }),
      { at: at(), id, state: "running", run: 1 },
    ]);
    copyFileSync(vmdk, join(root, "work", `${id}--disk.vmdk`));
    writeFileSync(join(root, "done", "disk.qcow2"), "someone else's");
    const spool = await openSpool(root);
    try {
      const error = await failureOf(spool, id);
      assert.equal(error?.code, "usage");
      assert.equal(readFileSync(join(root, "done", "disk.qcow2"), "utf8"), "someone else's");
      assert.ok(!readJournal(root).some((e) => e.state === "done"));
    } finally {
      await spool.stop();
    }
  });

  it("fails a job whose output name is longer than 255 bytes (journaled by an older diskpipe) with usage at stage claim", async () => {
    const id = "bbbb6-000006";
    const root = crashedSpool(dir, "long-output", [claimOf(id, "disk.vmdk", { output: `${"o".repeat(250)}.qcow2` })]);
    copyFileSync(vmdk, join(root, "work", `${id}--disk.vmdk`));
    const spool = await openSpool(root);
    try {
      const error = await failureOf(spool, id);
      assert.equal(error?.code, "usage");
      assert.equal(error?.stage, "claim");
      assert.match(error?.message ?? "", /^the output name done\/o+\.qcow2 is longer than 255 bytes .*retry the job/);
      assert.deepEqual(filesIn(root, "done"), []);
    } finally {
      await spool.stop();
    }
  });

  it("keeps a resumed job's output name reserved: a file dropped for the same output meanwhile is refused", async () => {
    const id = "bbbb7-000007";
    const root = crashedSpool(dir, "reserved", [claimOf(id, "disk.vmdk"), { at: at(), id, state: "running", run: 1 }]);
    copyFileSync(vmdk, join(root, "work", `${id}--disk.vmdk`));
    copyFileSync(raw, join(root, "incoming", "qcow2", "disk.raw"));
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const held = definePlugin({
      name: "hold",
      hooks: {
        preConvert: async (plan, ctx) => {
          if (ctx.id === id) await gate;
          return plan;
        },
      },
    });
    let finished!: (job: SpoolJob) => void;
    const other = new Promise<SpoolJob>((resolve) => (finished = resolve));
    const spool = await openSpool(root, {
      plugins: [held],
      onEvent: (e) => void ((e.type === "done" || e.type === "failed") && e.job.name === "disk.raw" && finished(e.job)),
    });
    try {
      const job = await within(other, 30_000, "the file dropped for the same output");
      assert.equal(job.state, "failed");
      assert.equal(job.error?.code, "usage");
      assert.match(job.error?.message ?? "", /done\/disk\.qcow2 already exists or is being written/);
      const done = nextEvent(spool, (e) => e.type === "done" && e.job.id === id);
      open();
      await within(done, 30_000, "the resumed job");
    } finally {
      open();
      await spool.stop();
    }
  });

  it("completes a claim with its sidecar (which the run then reads), and leaves a .json that was not the job's in incoming/", async () => {
    const withSidecar = "bbbb8-000008";
    const without = "bbbb9-000009";
    const root = crashedSpool(dir, "sidecars", [
      claimOf(withSidecar, "a.vmdk", { sidecar: true }),
      claimOf(without, "b.vmdk"),
    ]);
    for (const name of ["a.vmdk", "b.vmdk"]) {
      copyFileSync(vmdk, join(root, "incoming", "qcow2", name));
      writeFileSync(join(root, "incoming", "qcow2", `${name}.json`), '{"from":"qcow2"}');
    }
    const spool = await openSpool(root);
    try {
      assert.equal((await failureOf(spool, withSidecar))?.code, "format-mismatch", "the sidecar was read");
      assert.deepEqual(filesIn(root, "failed"), ["a.vmdk", "a.vmdk.error.json", "a.vmdk.json"]);
      assert.equal(spool.job(without)?.state, "done");
      assert.deepEqual(filesIn(root, "incoming/qcow2"), ["b.vmdk.json"]);
      assert.deepEqual(filesIn(root, "work"), []);
    } finally {
      await spool.stop();
    }
  });
});
