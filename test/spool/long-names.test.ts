import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPipeline } from "../../src/create-pipeline.ts";
import { defaultConfig } from "../../src/scripting.ts";
import { createSpool, type Spool } from "../../src/spool/spool.ts";
import type { SpoolJob } from "../../src/spool/types.ts";
import { makeBackedQcow2, makeImage, makeRaw, sameDisk, tempDir } from "../helpers/images.ts";
import { allNames, filesIn, nextEvent, readJournal, within } from "./helpers.ts";

const bytes = (text: string) => Buffer.byteLength(text);

describe("spool: names at the file-system limit (255 bytes, real qemu-img)", () => {
  const { dir, cleanup } = tempDir("diskpipe-long-names-");
  const root = join(dir, "spool");
  let raw = "";
  let vmdk = "";
  let evil = "";
  let spool: Spool;

  const drop = (format: string, name: string, from: string) => {
    mkdirSync(join(root, "incoming", format), { recursive: true });
    copyFileSync(from, join(root, "incoming", format, name));
  };
  const finished = (name: string) =>
    nextEvent(spool, (e) => (e.type === "done" || e.type === "failed") && e.job.name === name);
  /** Drops `from` as incoming/<format>/<name>; resolves once the spool claimed it and is idle again. */
  const settle = async (format: string, name: string, from: string): Promise<SpoolJob> => {
    const queued = nextEvent(spool, (e) => e.type === "queued" && e.job.name === name && e.job.to === format);
    drop(format, name, from);
    const { job } = await within(queued, 20_000, `the claim of ${name.slice(0, 24)}…`);
    await spool.idle();
    return spool.job(job.id)!;
  };
  /** Nothing in work/, every name on disk whole UTF-8 within 255 bytes, one terminal state per job in the journal. */
  const assertClean = (...jobs: SpoolJob[]) => {
    assert.deepEqual(filesIn(root, "work"), [], "nothing left in work/");
    for (const name of allNames(root)) {
      assert.ok(bytes(name) <= 255, name);
      assert.ok(!name.includes("\uFFFD"), `${name} was cut inside a character`);
    }
    for (const job of jobs) {
      const states = readJournal(root)
        .filter((e) => e.id === job.id)
        .map((e) => e.state);
      assert.equal(states[0], "queued");
      assert.deepEqual(
        states.filter((s) => s === "done" || s === "failed"),
        [job.state],
        `journal of ${job.id}: ${states.join(" ")}`,
      );
    }
  };
  /** The job failed with `code`; its file and error file are in failed/ under a name that fits. */
  const assertFailed = (job: SpoolJob, code: string) => {
    assert.equal(job.state, "failed", `state ${job.state}`);
    assert.equal(job.error?.code, code, job.error?.message);
    assert.ok(job.failedPath && existsSync(job.failedPath), `the file is in failed/ (${job.failedPath})`);
    const error = JSON.parse(readFileSync(`${job.failedPath}.error.json`, "utf8"));
    assert.equal(error.code, code);
    assert.ok(bytes(`${basename(job.failedPath)}.error.json`) <= 255);
  };

  before(async () => {
    mkdirSync(dir, { recursive: true });
    raw = makeRaw(join(dir, "disk.raw"), 4 * 1024 * 1024);
    vmdk = makeImage(raw, "vmdk", join(dir, "disk.vmdk"));
    evil = makeBackedQcow2(dir);
    spool = createSpool({ root, pipeline: createPipeline(await defaultConfig()), settleMs: 100 });
    await spool.start();
  });
  after(async () => {
    await spool.stop();
    cleanup();
  });

  it("converts a good image dropped under a 255-byte name into done/<stem cut>.<ext>", async () => {
    const name = `${"g".repeat(250)}.vmdk`;
    const job = await settle("qcow2", name, vmdk);
    assert.equal(job.state, "done", `${job.state}: ${job.error?.message}`);
    assert.equal(basename(job.output!), `${"g".repeat(249)}.qcow2`, "the stem is cut, the extension kept");
    assert.ok(sameDisk(raw, "raw", job.output!, "qcow2"));
    assertClean(job);
  });

  it("moves a hostile image dropped under a 255-byte name to failed/ with its error file", async () => {
    const name = `${"h".repeat(249)}.qcow2`;
    const hostile = await settle("raw", name, evil);
    assertFailed(hostile, "image-rejected");
    const failed = basename(hostile.failedPath!);
    assert.ok(
      failed.startsWith("h".repeat(200)) && failed.endsWith(".qcow2"),
      `${failed}: the start and the extension are kept`,
    );
    assert.ok(!filesIn(root, "done").some((n) => n.startsWith("hhh")));
    assertClean(hostile);
  });

  it("cuts multi-byte names between characters, never inside one (good and hostile)", async () => {
    const unit = "ü日😀"; // 2 + 3 + 4 bytes: wherever a name is cut, it falls near a character boundary
    const stem = `${"x".repeat(7)}${unit.repeat(27)}`; // 250 bytes
    const good = await settle("qcow2", `${stem}.vmdk`, vmdk);
    assert.equal(good.state, "done", `${good.state}: ${good.error?.message}`);
    assert.equal(
      basename(good.output!),
      `${stem.slice(0, -2)}.qcow2`,
      "the last whole character that fits ends the stem",
    );
    assert.ok(sameDisk(raw, "raw", good.output!, "qcow2"));

    const bad = await settle("vdi", `${"y".repeat(6)}${unit.repeat(27)}.qcow2`, evil);
    assertFailed(bad, "image-rejected");
    assert.ok(basename(bad.failedPath!).startsWith(`yyyyyy${unit}`));
    assertClean(good, bad);
  });

  it("keeps two long names that cut to the same name apart: one output, the other refused; two failures, two files", async () => {
    const a = `${"s".repeat(249)}1.vmdk`;
    const b = `${"s".repeat(249)}2.vmdk`; // both would write done/sss….qcow2
    const h1 = `${"t".repeat(248)}1.qcow2`;
    const h2 = `${"t".repeat(248)}2.qcow2`; // both cut to the same failed/ name
    const ends = [a, b, h1, h2].map(finished);
    drop("qcow2", a, vmdk);
    drop("qcow2", b, vmdk);
    drop("raw", h1, evil);
    drop("raw", h2, evil);
    const jobs = (await within(Promise.all(ends), 60_000, "four jobs to finish")).map((e) => e.job);
    await spool.idle();
    const [ja, jb, j1, j2] = jobs.map((job) => spool.job(job.id)!);
    const output = `${"s".repeat(249)}.qcow2`;
    const winner = [ja, jb].find((j) => j.state === "done");
    const loser = [ja, jb].find((j) => j.state === "failed");
    assert.ok(
      winner && loser,
      `one done, one failed: ${ja.state} ${jb.state} ${ja.error?.message ?? ""} ${jb.error?.message ?? ""}`,
    );
    assert.equal(basename(winner.output!), output);
    assert.deepEqual(
      filesIn(root, "done").filter((n) => n.startsWith("sss")),
      [output],
    );
    assertFailed(loser, "usage");
    assert.ok(loser.error!.message.includes(`done/${output} already exists`), loser.error!.message);
    assertFailed(j1, "image-rejected");
    assertFailed(j2, "image-rejected");
    assert.notEqual(j1.failedPath, j2.failedPath, "the second failure does not overwrite the first");
    assertClean(ja, jb, j1, j2);
  });

  it("retry returns a long-named failed file to incoming/ under its own name, where it is claimed again", async () => {
    const hostile = await settle("raw", `${"r".repeat(249)}.qcow2`, evil);
    assertFailed(hostile, "image-rejected");
    const again = nextEvent(
      spool,
      (e) => e.type === "queued" && e.job.name === hostile.name && e.job.id !== hostile.id,
    );
    const retried = await spool.retry(hostile.id);
    assert.equal(retried.state, "retried");
    const { job } = await within(again, 20_000, "the retried file to be claimed");
    await spool.idle();
    const second = spool.job(job.id)!;
    assertFailed(second, "image-rejected");
    assertClean(second);
  });

  it("fails a name it cannot use (a control character) with code usage instead of leaving it in incoming/", async () => {
    const name = "bell\u0007.vmdk";
    const job = await settle("qcow2", name, vmdk);
    assertFailed(job, "usage");
    assert.match(job.error!.message, /file name/);
    assert.deepEqual(filesIn(root, "incoming/qcow2"), []);
    assertClean(job);
  });
});
