import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { JournalEntry } from "../../src/spool/journal.ts";
import type { Spool } from "../../src/spool/spool.ts";
import type { SpoolEvent } from "../../src/spool/types.ts";
import { makeBackedQcow2, makeImage, makeRaw, tempDir } from "../helpers/images.ts";
import { at, claimOf, crashedSpool, openSpool } from "./crashed.ts";
import { filesIn, nextEvent, readJournal, within } from "./helpers.ts";

const error = { code: "image-rejected", message: "nope", stage: "inspect", at: at() } as const;

/** A job claimed, failed into `failed/<failed>` at second `second`, then retried. */
function retried(id: string, name: string, failed: string, second: number, to = "qcow2"): JournalEntry[] {
  return [
    claimOf(id, name, { to }),
    { at: at(second), id, state: "failed", error: { ...error, at: at(second) }, failed },
    { at: at(second + 1), id, state: "retried", incoming: `incoming/${to}/${name}` },
  ];
}

/** Waits for `finished` (a file given back to incoming/ was claimed and finished) and for the spool to settle, then stops it. */
async function settle(spool: Spool, finished: Promise<SpoolEvent>): Promise<SpoolEvent> {
  try {
    const event = await within(finished, 30_000, "the file in incoming/ to be claimed and finished");
    await within(spool.idle(), 30_000, "the spool to settle");
    return event;
  } finally {
    await spool.stop();
  }
}

/** Collects the process warnings emitted until `stop()`. */
function collectWarnings(): { list: string[]; stop: () => void } {
  const list: string[] = [];
  const listener = (w: Error & { code?: string }) => void list.push(`${w.code}: ${w.message}`);
  process.on("warning", listener);
  return { list, stop: () => process.off("warning", listener) };
}

const finishedNamed = (name: string) => (e: SpoolEvent) =>
  (e.type === "done" || e.type === "failed") && e.job.name === name;

describe("spool recovery: retried and failed jobs", () => {
  const { dir, cleanup } = tempDir("diskpipe-retry-recovery-");
  let vmdk = "";
  let evil = "";
  before(() => {
    vmdk = makeImage(makeRaw(join(dir, "disk.raw"), 1024 * 1024), "vmdk", join(dir, "disk.vmdk"));
    evil = makeBackedQcow2(dir);
  });
  after(cleanup);

  it("a restart leaves alone a failed file whose name a later failure took after a retry (the retry was finished)", async () => {
    const root = join(dir, "failed-again");
    let spool = await openSpool(root);
    const first = nextEvent(spool, (e) => e.type === "failed");
    mkdirSync(join(root, "incoming", "raw"), { recursive: true });
    copyFileSync(evil, join(root, "incoming", "raw", "evil.qcow2"));
    const a = (await within(first, 30_000, "the first failure")).job;
    await within(spool.idle(), 30_000, "the failure to be recorded");
    const second = nextEvent(spool, (e) => e.type === "failed" && e.job.id !== a.id);
    await spool.retry(a.id);
    const b = (await within(second, 30_000, "the failure after the retry")).job;
    await within(spool.idle(), 30_000, "the failure to be recorded");
    assert.equal(b.failedPath, join(root, "failed", "evil.qcow2"), "the name came free with the retry");
    await spool.stop();
    const lines = readJournal(root).length;

    spool = await openSpool(root);
    try {
      assert.deepEqual(filesIn(root, "failed"), ["evil.qcow2", "evil.qcow2.error.json"]);
      assert.deepEqual(filesIn(root, "incoming/raw"), []);
      await within(spool.idle(), 30_000, "the spool to settle");
      assert.equal(readJournal(root).length, lines, "nothing was claimed again");
      assert.equal(spool.job(b.id)?.state, "failed");
    } finally {
      await spool.stop();
    }
  });

  it("finishes a retry a crash interrupted: the file goes back to incoming/, an error file left after the move is removed", async () => {
    const long = `${"l".repeat(246)}.vmdk`;
    const root = crashedSpool(dir, "interrupted", [
      ...retried("cccc1-000001", "a.vmdk", "a.vmdk", 1),
      ...retried("cccc2-000002", "b.vmdk", "b.vmdk", 3),
      ...retried("cccc3-000003", long, long, 5),
    ]);
    copyFileSync(vmdk, join(root, "failed", "a.vmdk"));
    writeFileSync(join(root, "failed", "a.vmdk.error.json"), "{}");
    // b.vmdk went back (and was claimed since); only its error file was left.
    writeFileSync(join(root, "failed", "b.vmdk.error.json"), "{}");
    const warnings = collectWarnings();
    let finished!: (event: SpoolEvent) => void;
    const claimed = new Promise<SpoolEvent>((resolve) => (finished = resolve));
    const spool = await openSpool(root, { onEvent: (e) => void (finishedNamed("a.vmdk")(e) && finished(e)) });
    try {
      assert.deepEqual(filesIn(root, "failed"), []);
      assert.deepEqual(filesIn(root, "incoming/qcow2"), ["a.vmdk"]);
      await settle(spool, claimed);
      assert.deepEqual(warnings.list, []);
      assert.deepEqual(filesIn(root, "done"), ["a.qcow2"]);
    } finally {
      warnings.stop();
    }
  });

  it("does not give a retried file back over another file dropped under its name since", async () => {
    const root = crashedSpool(dir, "taken", retried("cccc4-000004", "a.vmdk", "a.vmdk", 1));
    writeFileSync(join(root, "failed", "a.vmdk"), "the retried file");
    writeFileSync(join(root, "failed", "a.vmdk.error.json"), "{}");
    writeFileSync(join(root, "incoming", "qcow2", "a.vmdk"), "another file".padEnd(1000, "."));
    const warnings = collectWarnings();
    let finished!: (event: SpoolEvent) => void;
    const claimed = new Promise<SpoolEvent>((resolve) => (finished = resolve));
    const spool = await openSpool(root, { onEvent: (e) => void (finishedNamed("a.vmdk")(e) && finished(e)) });
    try {
      assert.deepEqual(filesIn(root, "failed"), ["a.vmdk", "a.vmdk.error.json"]);
      assert.equal(readFileSync(join(root, "failed", "a.vmdk"), "utf8"), "the retried file");
      // The spool may claim the other file at once, so it is checked by what became of it.
      const event = await settle(spool, claimed);
      assert.equal(readFileSync(join(root, "failed", "a.vmdk"), "utf8"), "the retried file");
      assert.equal(
        event.type === "done" ? event.job.result?.virtualSize : undefined,
        1024,
        "the file converted is the other one (1000 bytes: two sectors; the retried file is one)",
      );
      assert.deepEqual(
        warnings.list.filter((w) => w.startsWith("DISKPIPE_SPOOL_RECOVERY")),
        [],
        "a file under the name is not a failure to recover",
      );
    } finally {
      warnings.stop();
    }
  });

  it("gives a name's file back only for the latest retry, and to nobody when two failed into it at the same instant", async () => {
    const root = crashedSpool(dir, "latest", [
      ...retried("cccc5-000005", "c.vmdk", "c.vmdk", 1, "raw"),
      ...retried("cccc6-000006", "c.vmdk", "c.vmdk", 3),
      ...retried("cccc7-000007", "d.vmdk", "d.vmdk", 5, "raw"),
      ...retried("cccc8-000008", "d.vmdk", "d.vmdk", 5),
    ]);
    for (const name of ["c.vmdk", "d.vmdk"]) {
      copyFileSync(vmdk, join(root, "failed", name));
      writeFileSync(join(root, "failed", `${name}.error.json`), "{}");
    }
    let finished!: (event: SpoolEvent) => void;
    const claimed = new Promise<SpoolEvent>((resolve) => (finished = resolve));
    const spool = await openSpool(root, { onEvent: (e) => void (finishedNamed("c.vmdk")(e) && finished(e)) });
    assert.deepEqual(filesIn(root, "incoming/qcow2"), ["c.vmdk"]);
    assert.deepEqual(filesIn(root, "incoming/raw"), []);
    assert.deepEqual(filesIn(root, "failed"), ["d.vmdk", "d.vmdk.error.json"]);
    await settle(spool, claimed);
  });

  it("leaves a failed job the journal holds without its reason or its name in failed/ as it is, without hanging", async () => {
    const named = "ccca1-000009";
    const bare = "ccca2-000010";
    const root = crashedSpool(dir, "malformed", [
      claimOf(named, "e.vmdk"),
      { at: at(), id: named, state: "failed", failed: "e.vmdk" } as JournalEntry,
      claimOf(bare, "f.vmdk"),
      { at: at(), id: bare, state: "failed" } as JournalEntry,
    ]);
    for (const [id, name] of [
      [named, "e.vmdk"],
      [bare, "f.vmdk"],
    ]) {
      writeFileSync(join(root, "work", `${id}--${name}`), "claimed");
    }
    const spool = await openSpool(root);
    try {
      assert.deepEqual(filesIn(root, "work"), [`${named}--e.vmdk`, `${bare}--f.vmdk`]);
      await within(spool.idle(), 10_000, "the spool to settle");
      assert.deepEqual(filesIn(root, "failed"), []);
      assert.equal(readJournal(root).length, 4);
    } finally {
      await spool.stop();
    }
  });
});
