import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPipeline } from "../../src/create-pipeline.ts";
import { defaultConfig } from "../../src/scripting.ts";
import { createSpool, type Spool } from "../../src/spool/spool.ts";
import type { SpoolEvent, SpoolJob } from "../../src/spool/types.ts";
import { makeBackedQcow2, makeImage, makeRaw, sameDisk, tempDir } from "../helpers/images.ts";
import { filesIn, readJournal, waitFor } from "./helpers.ts";

describe("spool (in process, real qemu-img)", () => {
  const { dir, cleanup } = tempDir("diskpipe-spool-");
  const root = join(dir, "spool");
  const images = join(dir, "images");
  let raw = "";
  let vmdk = "";
  let evil = "";
  let spool: Spool;
  const events: SpoolEvent[] = [];

  const drop = (format: string, name: string, from: string) => {
    mkdirSync(join(root, "incoming", format), { recursive: true });
    copyFileSync(from, join(root, "incoming", format, name));
  };
  const jobNamed = (name: string, state?: string) =>
    spool.jobs().find((j) => j.name === name && (!state || j.state === state));
  const finished = (name: string) =>
    waitFor(
      () => spool.jobs().find((j) => j.name === name && (j.state === "done" || j.state === "failed")),
      `${name} to finish`,
    );

  before(async () => {
    mkdirSync(images, { recursive: true });
    raw = makeRaw(join(images, "disk.raw"), 8 * 1024 * 1024);
    vmdk = makeImage(raw, "vmdk", join(images, "disk.vmdk"));
    evil = makeBackedQcow2(images);
    // Present before the watcher starts: must be picked up.
    drop("vhd", "early.vmdk", vmdk);
    spool = createSpool({
      root,
      pipeline: createPipeline(await defaultConfig()),
      settleMs: 100,
      onEvent: (e) => events.push(e),
    });
    await spool.start();
  });
  after(async () => {
    await spool.stop();
    cleanup();
  });

  it("converts a file present at start, with the target's extension", async () => {
    const job = await finished("early.vmdk");
    assert.equal(job.state, "done", job.error?.message);
    assert.equal(job.output, join(root, "done", "early.vhd"));
    assert.ok(sameDisk(raw, "raw", job.output!, "vpc"));
  });

  it("converts a dropped file into done/<stem>.<ext>, qemu-img compare equal, work/ left empty", async () => {
    drop("qcow2", "disk.vmdk", vmdk);
    const job = await finished("disk.vmdk");
    assert.equal(job.state, "done", job.error?.message);
    assert.ok(sameDisk(raw, "raw", join(root, "done", "disk.qcow2"), "qcow2"));
    assert.equal(job.result?.from, "vmdk");
    assert.equal(job.result?.destination, join(root, "done", "disk.qcow2"));
    await spool.idle();
    assert.deepEqual(filesIn(root, "work"), []);
    const states = readJournal(root)
      .filter((e) => e.id === job.id)
      .map((e) => e.state);
    assert.deepEqual(states, ["queued", "running", "done"]);
    const done = events.find((e) => e.type === "done" && e.job.id === job.id);
    assert.equal(done?.job.output, join(root, "done", "disk.qcow2"), "the done event carries the output path");
    assert.ok(job.timings.some((t) => t.stage === "convert"));
    assert.equal(job.inspection?.format, "vmdk");
  });

  it("moves a hostile image to failed/ with error.json (image-rejected) and writes nothing to done/", async () => {
    drop("raw", "evil.qcow2", evil);
    const job = await finished("evil.qcow2");
    assert.equal(job.state, "failed");
    assert.ok(existsSync(join(root, "failed", "evil.qcow2")));
    const error = JSON.parse(readFileSync(join(root, "failed", "evil.qcow2.error.json"), "utf8"));
    assert.equal(error.code, "image-rejected");
    assert.match(error.message, /backing file/);
    assert.equal(error.stage, "inspect");
    assert.ok(!Number.isNaN(Date.parse(error.at)));
    assert.doesNotMatch(error.message, /work\//, "the message names the file, not its work path");
    assert.ok(!filesIn(root, "done").includes("evil.raw"));
  });

  it("ignores .part and hidden names until they are renamed", async () => {
    const folder = join(root, "incoming", "vdi");
    mkdirSync(folder, { recursive: true });
    copyFileSync(vmdk, join(folder, "slow.vmdk.part"));
    copyFileSync(vmdk, join(folder, ".hidden.vmdk"));
    // A file dropped after them and claimed shows the watcher has looked at the folder since.
    copyFileSync(vmdk, join(folder, "marker-a.vmdk"));
    await finished("marker-a.vmdk");
    assert.equal(jobNamed("slow.vmdk.part"), undefined);
    assert.equal(jobNamed(".hidden.vmdk"), undefined);
    assert.ok(existsSync(join(folder, "slow.vmdk.part")));
    renameSync(join(folder, "slow.vmdk.part"), join(folder, "slow.vmdk"));
    const job = await finished("slow.vmdk");
    assert.equal(job.state, "done", job.error?.message);
    assert.ok(sameDisk(raw, "raw", join(root, "done", "slow.vdi"), "vdi"));
    assert.ok(existsSync(join(folder, ".hidden.vmdk")), "a hidden file stays where it is");
  });

  it("fails a bad sidecar with a clear reason, keeps the sidecar beside the file, and retries once it is fixed", async () => {
    const folder = join(root, "incoming", "qcow2");
    writeFileSync(join(folder, "side.vmdk.json"), JSON.stringify({ form: "vmdk", maxSize: "lots" }));
    copyFileSync(vmdk, join(folder, "side.vmdk"));
    const job = await finished("side.vmdk");
    assert.equal(job.state, "failed");
    assert.equal(job.error?.code, "usage");
    assert.match(job.error!.message, /bad sidecar side\.vmdk\.json/);
    assert.match(job.error!.message, /form/);
    assert.match(job.error!.message, /maxSize/);
    assert.ok(existsSync(join(root, "failed", "side.vmdk.json")), "the sidecar follows the file to failed/");

    writeFileSync(
      join(root, "failed", "side.vmdk.json"),
      JSON.stringify({ from: "vmdk", maxSize: "1G", options: { subformat: "streamOptimized" } }),
    );
    const retried = await spool.retry(job.id);
    assert.equal(retried.state, "retried");
    assert.ok(!existsSync(join(root, "failed", "side.vmdk.error.json")));
    const again = await waitFor(
      () => spool.jobs().find((j) => j.name === "side.vmdk" && j.id !== job.id && j.state === "done"),
      "the retried file to convert",
    );
    assert.deepEqual(again.sidecar, { from: "vmdk", maxSize: 1024 ** 3, options: { subformat: "streamOptimized" } });
    assert.ok(sameDisk(raw, "raw", join(root, "done", "side.qcow2"), "qcow2"));
    await spool.idle();
    assert.deepEqual(filesIn(root, "work"), []);
  });

  it("fails a sidecar claim the image contradicts (format-mismatch)", async () => {
    const folder = join(root, "incoming", "raw");
    writeFileSync(join(folder, "liar.vmdk.json"), JSON.stringify({ from: "qcow2" }));
    copyFileSync(vmdk, join(folder, "liar.vmdk"));
    const job = await finished("liar.vmdk");
    assert.equal(job.error?.code, "format-mismatch");
  });

  it("fails a file in an unknown target-format folder with a clear reason", async () => {
    drop("floppy", "disk.vmdk", vmdk);
    const job = await waitFor(
      () => spool.jobs().find((j) => j.to === "floppy" && j.state === "failed"),
      "the floppy job to fail",
    );
    assert.match(job.error!.message, /unknown target format folder incoming\/floppy\//);
    assert.ok(existsSync(join(root, "failed", "disk.vmdk.error.json")));
  });

  it("never follows symbolic links: a linked file is refused, a linked folder ignored", async () => {
    const outside = join(dir, "outside");
    mkdirSync(outside, { recursive: true });
    copyFileSync(vmdk, join(outside, "host.vmdk"));
    symlinkSync(join(outside, "host.vmdk"), join(root, "incoming", "qcow2", "link.vmdk"));
    symlinkSync(outside, join(root, "incoming", "linked"));
    const job = await finished("link.vmdk");
    assert.equal(job.state, "failed");
    assert.match(job.error!.message, /not a regular file/);
    // Dropped after the linked folder appeared: once it is claimed, the watcher has seen the folder.
    copyFileSync(vmdk, join(root, "incoming", "qcow2", "marker-b.vmdk"));
    await finished("marker-b.vmdk");
    assert.equal(jobNamed("host.vmdk"), undefined, "nothing claimed through a linked folder");
    assert.ok(existsSync(join(outside, "host.vmdk")), "the linked file stays where it is");
    assert.ok(!filesIn(root, "done").includes("link.qcow2"));
  });

  it("refuses to overwrite an output already in done/, and names it", async () => {
    writeFileSync(join(root, "done", "clash.qcow2"), "an earlier output");
    writeFileSync(join(root, "failed", "clash.vmdk"), "an earlier failure of the same name");
    drop("qcow2", "clash.vmdk", vmdk);
    const job = await waitFor(
      () => spool.jobs().find((j) => j.name === "clash.vmdk" && j.state === "failed"),
      "the clash to fail",
    );
    assert.match(job.error?.message ?? "", /done\/clash\.qcow2 already exists/);
    assert.equal(readFileSync(join(root, "done", "clash.qcow2"), "utf8"), "an earlier output");
    assert.ok(
      existsSync(join(root, "failed", `${job.id}--clash.vmdk`)),
      "a second failure of the same name does not overwrite the first",
    );
    assert.equal(readFileSync(join(root, "failed", "clash.vmdk"), "utf8"), "an earlier failure of the same name");
  });

  it("shows the same history after a restart", async () => {
    drop("vdi", "history.vmdk", vmdk);
    assert.equal((await finished("history.vmdk")).state, "done");
    await spool.idle();
    const before = spool.jobs().map((j: SpoolJob) => [j.id, j.state, j.output, j.error?.code]);
    await spool.stop();
    spool = createSpool({ root, pipeline: createPipeline(await defaultConfig()), settleMs: 100 });
    await spool.start();
    assert.deepEqual(
      spool.jobs().map((j) => [j.id, j.state, j.output, j.error?.code]),
      before,
    );
    const done = spool.jobs().find((j) => j.name === "history.vmdk" && j.state === "done");
    assert.equal(done?.inspection?.format, "vmdk", "the detail survives a restart");
    assert.ok((done?.timings.length ?? 0) > 0);
  });
});
