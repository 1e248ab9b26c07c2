import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, ftruncateSync, openSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { failure } from "../../helpers/failure.ts";
import { dirStoreFixture, releaseFifo, within } from "./dir-store-setup.ts";

// Issue 19 item 3: a sidecar must be a regular file, not a link, FIFO or device, and small.
describe("dirStore sidecars are regular files of bounded size", () => {
  const f = dirStoreFixture();
  let record: Record<string, unknown> = {};
  before(async () => {
    record = (await f.stored("good")).record;
  });
  after(f.cleanup);

  const oneLine = (message: string) => assert.ok(!message.includes("\n"), `one line: ${message}`);

  it("a FIFO sidecar fails the fetch at once (fetch-failed) instead of hanging, and list skips it", async () => {
    f.plant("good", "piped", { ...record, id: "piped" });
    const fifo = join(f.root, "piped.json");
    unlinkSync(fifo);
    execFileSync("mkfifo", [fifo]);
    try {
      const error = await within(
        5000,
        failure(f.pipeline().run({ source: "store://images/piped", destination: join(f.out, "piped.raw"), to: "raw" })),
        "fetch",
      );
      assert.equal(error.code, "fetch-failed");
      assert.match(error.message, /FIFO/);
      oneLine(error.message);
      assert.deepEqual(
        (await within(5000, f.store.list(), "list")).map((i) => i.id),
        ["good"],
      );
    } finally {
      releaseFifo(fifo);
    }
    assert.deepEqual(f.leftovers(), []);
  });

  it("a FIFO sidecar does not hang the sink's existence check: the existing image is kept (usage)", async () => {
    f.plant("good", "piped-sink", { ...record, id: "piped-sink" });
    const fifo = join(f.root, "piped-sink.json");
    unlinkSync(fifo);
    execFileSync("mkfifo", [fifo]);
    try {
      const error = await within(
        5000,
        failure(f.pipeline().run({ source: f.vmdk, destination: "store://images/piped-sink", to: "qcow2" })),
        "upload",
      );
      assert.equal(error.code, "usage");
      assert.match(error.message, /already exists/);
      oneLine(error.message);
    } finally {
      releaseFifo(fifo);
    }
    assert.deepEqual(f.leftovers(), []);
  });

  it("a sidecar that is a symbolic link is refused without being followed", async () => {
    const outside = join(f.dir, "outside.json");
    writeFileSync(outside, JSON.stringify({ ...record, id: "linked-meta" }));
    f.plant("good", "linked-meta", { ...record, id: "linked-meta" });
    unlinkSync(join(f.root, "linked-meta.json"));
    symlinkSync(outside, join(f.root, "linked-meta.json"));
    const error = await failure(
      f.pipeline().run({ source: "store://images/linked-meta", destination: join(f.out, "linked.raw"), to: "raw" }),
    );
    assert.equal(error.code, "fetch-failed");
    assert.match(error.message, /symbolic link/);
    oneLine(error.message);

    f.plant("good", "zero-meta", { ...record, id: "zero-meta" });
    unlinkSync(join(f.root, "zero-meta.json"));
    symlinkSync("/dev/zero", join(f.root, "zero-meta.json"));
    const zero = await within(5000, failure(f.store.show("zero-meta")), "show");
    assert.equal(zero.code, "fetch-failed");
    assert.match(zero.message, /symbolic link/);
    assert.deepEqual(f.leftovers(), []);
  });

  it("a sidecar larger than 64 KiB is refused unread", async () => {
    f.plant("good", "huge-meta", { ...record, id: "huge-meta" });
    const fd = openSync(join(f.root, "huge-meta.json"), "r+");
    ftruncateSync(fd, 600 * 1024 * 1024);
    closeSync(fd);
    const error = await failure(
      f.pipeline().run({ source: "store://images/huge-meta", destination: join(f.out, "huge.raw"), to: "raw" }),
    );
    assert.equal(error.code, "fetch-failed");
    assert.match(error.message, /larger than 65536 bytes/);
    oneLine(error.message);
    assert.deepEqual(f.leftovers(), []);
  });
});

// Issue 19 item 7: what a sidecar records is what is checked, not the file compared with itself.
describe("dirStore sidecars cannot lie about size or id", () => {
  const f = dirStoreFixture();
  let record: Record<string, unknown> = {};
  before(async () => {
    record = (await f.stored("good")).record;
  });
  after(f.cleanup);

  it("show reports the size the sidecar records, and a download of another size fails (fetch-failed)", async () => {
    const claimed = (record.size as number) + 4096;
    f.plant("good", "sized", { ...record, id: "sized", size: claimed });
    assert.equal((await f.store.show("sized")).size, claimed);
    const error = await failure(
      f.pipeline().run({ source: "store://images/sized", destination: join(f.out, "sized.raw"), to: "raw" }),
    );
    assert.equal(error.code, "fetch-failed");
    assert.match(error.message, new RegExp(`is ${String(record.size)} bytes, the store says ${claimed}`));
    assert.deepEqual(f.leftovers(), []);
  });

  it("a sidecar recording another id is invalid metadata: show, fetch and list refuse it", async () => {
    f.plant("good", "renamed", record);
    const shown = await failure(f.store.show("renamed"));
    assert.equal(shown.code, "fetch-failed");
    assert.match(shown.message, /records the id "good"/);
    const error = await failure(
      f.pipeline().run({ source: "store://images/renamed", destination: join(f.out, "renamed.raw"), to: "raw" }),
    );
    assert.equal(error.code, "fetch-failed");
    assert.match(error.message, /metadata of "renamed" .* is not valid/);
    const listed = (await f.store.list()).map((i) => i.id);
    assert.ok(listed.includes("good") && !listed.includes("renamed"), listed.join(" "));
    assert.deepEqual(f.leftovers(), []);
  });
});
