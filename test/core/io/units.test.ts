import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { FetchCache } from "../../../src/core/io/fetch-cache.ts";
import { GrowingFile } from "../../../src/core/io/growing-file.ts";
import { parseContentRange } from "../../../src/core/io/http-headers.ts";
import { redactUrl } from "../../../src/core/io/http.ts";
import { sweepStale } from "../../../src/core/io/stale.ts";
import { tempDir } from "../../helpers/images.ts";

/** Whether a promise is still unsettled after a short while. */
async function pending(promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol("pending");
  const timer = new Promise((resolve) => setTimeout(() => resolve(marker), 30));
  return (await Promise.race([promise.catch(() => undefined), timer])) === marker;
}

describe("growing file", () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);

  it("skip: a sparse file takes a run of zeroes as a hole, bounded by its limit; a dense one refuses", async () => {
    const file = await GrowingFile.create(join(dir, "holes"), { sparse: true });
    const reader = file.reader();
    await file.append(Buffer.from("ab"));
    const waiting = reader.read((1 << 20) + 2, 2);
    file.skip(1 << 20);
    await file.append(Buffer.from("cd"));
    assert.equal(Buffer.from(await waiting).toString(), "cd");
    assert.deepEqual([...(await reader.read(2, 4))], [0, 0, 0, 0]);
    file.limit((1 << 20) + 8, () => new Error("over the bound"));
    assert.throws(() => file.skip(16), /over the bound/);
    await file.remove();
    const dense = await GrowingFile.create(join(dir, "dense"));
    assert.throws(() => dense.skip(1), /only a sparse file can skip/);
    await dense.remove();
  });

  it("counts the bytes stored as data (holes left out) and fails past limitStored, dense or sparse", async () => {
    const sparse = await GrowingFile.create(join(dir, "stored-sparse"), { sparse: true });
    sparse.limitStored(128 * 1024, () => new Error("too much data"));
    await sparse.append(Buffer.alloc(256 * 1024));
    sparse.skip(1 << 20);
    await sparse.append(Buffer.alloc(64 * 1024, 1));
    assert.deepEqual([sparse.written, sparse.stored], [256 * 1024 + (1 << 20) + 64 * 1024, 64 * 1024]);
    await sparse.append(Buffer.alloc(64 * 1024, 2));
    await assert.rejects(sparse.append(Buffer.alloc(1, 3)), /too much data/);
    await sparse.remove();
    const dense = await GrowingFile.create(join(dir, "stored-dense"));
    dense.limitStored(4, () => new Error("too much data"));
    await dense.appendAll([Buffer.alloc(2), Buffer.alloc(2)]);
    assert.equal(dense.stored, 4);
    await assert.rejects(dense.append(Buffer.alloc(1)), /too much data/);
    await dense.remove();
  });

  it("makes reads wait for their bytes, and size() wait for the end when no total is declared", async () => {
    const file = await GrowingFile.create(join(dir, "a"));
    const reader = file.reader();
    const head = reader.read(2, 4);
    const size = reader.size();
    await file.append(Buffer.from("abc"));
    assert.equal(await pending(head), true, "read before its bytes were in");
    await file.append(Buffer.from("defgh"));
    assert.equal(Buffer.from(await head).toString(), "cdef");
    assert.equal(await pending(size), true, "size known before the end");
    await file.finish();
    assert.equal(await size, 8);
    assert.equal(Buffer.from(await reader.read(6, 100)).toString(), "gh", "short at the end");
    assert.equal((await reader.read(50, 10)).length, 0);
    await file.remove();
    assert.ok(!existsSync(join(dir, "a")));
  });

  it("answers size() at once from a declared total, and reads past it without waiting", async () => {
    const file = await GrowingFile.create(join(dir, "b"));
    const reader = file.reader();
    file.expect(6);
    assert.equal(await reader.size(), 6);
    assert.equal((await reader.read(10, 4)).length, 0);
    const tail = reader.read(4, 100);
    await file.append(Buffer.from("012345"));
    assert.equal(Buffer.from(await tail).toString(), "45");
    await file.remove();
  });

  it("fails waiting and later reads with the download's error", async () => {
    const file = await GrowingFile.create(join(dir, "c"));
    const reader = file.reader();
    const waiting = reader.read(0, 10);
    const boom = new Error("connection lost");
    file.fail(boom);
    await assert.rejects(waiting, boom);
    await assert.rejects(reader.read(0, 1), boom);
    await assert.rejects(reader.size(), boom);
    await file.remove();
  });

  it("keeps the 1 MiB read bound", async () => {
    const file = await GrowingFile.create(join(dir, "d"));
    await assert.rejects(file.reader().read(0, 2 * 1024 * 1024), RangeError);
    await file.remove();
  });
});

describe("fetch cache", () => {
  function entry(log: string[], name: string) {
    let settle!: (ok: boolean) => void;
    const ready = new Promise<void>(
      (resolve, reject) => (settle = (ok) => (ok ? resolve() : reject(new Error(`${name} failed`)))),
    );
    ready.catch(() => undefined);
    return { init: { value: name, ready, dispose: async () => void log.push(`dispose ${name}`) }, settle };
  }

  it("shares an entry while it is used and removes it after the last user", async () => {
    const cache = new FetchCache();
    const log: string[] = [];
    const a = entry(log, "a");
    const first = cache.acquire("k", () => a.init);
    const second = cache.acquire("k", () => assert.fail("started twice"));
    assert.equal(first.first, true);
    assert.equal(second.first, false);
    a.settle(true);
    await first.ready;
    await first.release();
    assert.deepEqual(log, []);
    await second.release();
    await second.release();
    assert.deepEqual(log, ["dispose a"]);
    assert.equal(cache.size, 0);
  });

  it("stops an entry in progress when its last user lets go, even while held", async () => {
    const cache = new FetchCache();
    const log: string[] = [];
    const unhold = cache.hold();
    const lease = cache.acquire("k", () => entry(log, "p").init);
    await lease.release();
    assert.deepEqual(log, ["dispose p"]);
    await unhold();
  });

  it("keeps complete entries while held, forgets failed ones at once", async () => {
    const cache = new FetchCache();
    const log: string[] = [];
    const unhold = cache.hold();
    const ok = entry(log, "ok");
    const lease = cache.acquire("ok", () => ok.init);
    ok.settle(true);
    await lease.ready;
    await lease.release();
    assert.equal(cache.size, 1);
    const again = cache.acquire("ok", () => assert.fail("fetched again while held"));
    await again.release();
    const bad = entry(log, "bad");
    const failing = cache.acquire("bad", () => bad.init);
    bad.settle(false);
    await assert.rejects(failing.ready);
    const retry = entry(log, "bad-2");
    const fresh = cache.acquire("bad", () => retry.init);
    assert.equal(fresh.first, true, "a failed entry is started afresh");
    await failing.release();
    await fresh.release();
    await unhold();
    assert.deepEqual(log.sort(), ["dispose bad", "dispose bad-2", "dispose ok"]);
    assert.equal(cache.size, 0);
  });
});

describe("stale sweep", () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);

  it("removes job and fetch folders of dead processes only", async () => {
    const names = [
      `job-${process.pid}-aaaa-1`,
      "job-999999991-bbbb-2",
      "fetch-999999992-cc",
      "fetch-1-dd",
      "other-999999993-x",
      "notes.txt",
    ];
    for (const name of names) mkdirSync(join(dir, name));
    const removed = await sweepStale(dir, (pid) => pid === 1);
    assert.deepEqual(removed.sort(), ["fetch-999999992-cc", "job-999999991-bbbb-2"]);
    assert.deepEqual(
      readdirSync(dir).sort(),
      ["fetch-1-dd", `job-${process.pid}-aaaa-1`, "notes.txt", "other-999999993-x"].sort(),
    );
  });

  it("judges only this host's processes (a work directory on shared storage), and sweeps inspection spools too", async () => {
    const { HOST_TAG } = await import("../../../src/core/io/temp.ts");
    const other = HOST_TAG === "00000000" ? "11111111" : "00000000";
    const names = [
      `job-999999981@${other}-a-1`,
      `job-999999982@${HOST_TAG}-b-2`,
      `fetch-999999983@${other}-c`,
      `inspect-999999984@${HOST_TAG}-d`,
    ];
    const shared = join(dir, "shared");
    mkdirSync(shared);
    for (const name of names) mkdirSync(join(shared, name));
    const removed = await sweepStale(shared, () => false);
    assert.deepEqual(removed.sort(), [`inspect-999999984@${HOST_TAG}-d`, `job-999999982@${HOST_TAG}-b-2`]);
    assert.deepEqual(readdirSync(shared).sort(), [`fetch-999999983@${other}-c`, `job-999999981@${other}-a-1`]);
  });

  it("is called by a pipeline once at start-up", async () => {
    const { createPipeline } = await import("../../../src/create-pipeline.ts");
    const work = join(dir, "w");
    mkdirSync(join(work, "diskpipe", "job-999999994-dead-1"), { recursive: true });
    mkdirSync(join(work, "diskpipe", "fetch-999999995-dead"), { recursive: true });
    const pipeline = createPipeline({ workDir: work });
    await pipeline
      .run({ source: join(dir, "missing.raw"), destination: join(dir, "o.raw"), to: "raw" })
      .catch(() => undefined);
    assert.deepEqual(readdirSync(join(work, "diskpipe")), []);
  });
});

describe("small helpers", () => {
  it("parses Content-Range", () => {
    assert.deepEqual(parseContentRange("bytes 100-199/1000"), { start: 100, end: 199, total: 1000 });
    assert.deepEqual(parseContentRange("bytes 0-9/*"), { start: 0, end: 9 });
    assert.equal(parseContentRange("items 1-2/3"), undefined);
    assert.equal(parseContentRange(undefined), undefined);
  });

  it("removes credentials from URLs in messages", () => {
    assert.equal(redactUrl("https://user:secret@h.example/a.qcow2"), "https://h.example/a.qcow2");
  });
});
