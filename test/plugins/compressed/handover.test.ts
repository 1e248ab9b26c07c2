import assert from "node:assert/strict";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { GrowingFile } from "../../../src/plugin-api.ts";
import { Handover } from "../../../src/plugins/compressed/handover.ts";
import { tempDir } from "../../helpers/images.ts";

/** A growing file holding `head` (the piped decode's part), and a path for the second decode. */
async function piped(dir: string, name: string, head: Uint8Array) {
  const file = await GrowingFile.create(join(dir, name), { sparse: true });
  await file.append(head);
  return { file, second: join(dir, `${name}-whole`) };
}

describe("compressed: the hand-over to a second decode", () => {
  const { dir, cleanup } = tempDir("diskpipe-compressed-handover-");
  after(cleanup);

  it("takes only under a finite bound within the ceiling, once, and never after close", () => {
    const unbounded = new Handover(Infinity);
    assert.equal(unbounded.take(), false);
    const over = new Handover(1000);
    over.bound(4096, "more than 4 KiB");
    assert.equal(over.take(), false);
    const closed = new Handover(Infinity);
    closed.bound(4096, "more than 4 KiB");
    closed.close();
    assert.equal(closed.take(), false);
    const ok = new Handover(Infinity);
    ok.bound(8192, "more than 8 KiB");
    ok.bound(4096, "more than 4 KiB");
    ok.bound(6000, "more than 6000 bytes");
    assert.equal(ok.take(), true);
    assert.deepEqual(ok.chosen, { bytes: 4096, tooLarge: "more than 4 KiB" });
    assert.equal(ok.take(), false);
  });

  it("the inspector reads the head at once, the rest and the size once the second decode is done", async () => {
    const whole = Buffer.alloc(3000, 7);
    const { file, second } = await piped(dir, "same", whole.subarray(0, 1000));
    const handover = new Handover(Infinity);
    handover.bound(4096, "more than 4 KiB");
    assert.ok(handover.take());
    const reader = handover.reader(file.reader());
    const waiting = reader.size();
    let release = () => undefined as void;
    const decoded = new Promise<void>((resolve) => (release = resolve));
    handover.start(file, second, async () => {
      await decoded;
      writeFileSync(second, whole);
    });
    assert.deepEqual(Buffer.from(await reader.read(0, 1000)), whole.subarray(0, 1000));
    const tail = reader.read(2000, 500);
    release();
    assert.equal(await waiting, 3000);
    assert.deepEqual(Buffer.from(await tail), whole.subarray(2000, 2500));
    assert.equal(await handover.finished(), second);
    await file.remove();
  });

  it("a second decode whose head differs (the file changed between the two) is compressed-corrupt; cancel removes it", async () => {
    const { file, second } = await piped(dir, "changed", Buffer.alloc(1000, 7));
    const handover = new Handover(Infinity);
    handover.bound(4096, "more than 4 KiB");
    assert.ok(handover.take());
    handover.start(file, second, async () => writeFileSync(second, Buffer.alloc(3000, 8)));
    await assert.rejects(handover.finished(), { code: "compressed-corrupt" });
    await handover.cancel();
    assert.equal(existsSync(second), false);
    await file.remove();
  });

  it("a second decode shorter than the head is compressed-corrupt, even when the missing bytes are zeros", async () => {
    // What a short read leaves unfilled is zeros: only the count of bytes read tells this file from the head.
    const { file, second } = await piped(dir, "shorter", Buffer.alloc(1000));
    const handover = new Handover(Infinity);
    handover.bound(4096, "more than 4 KiB");
    assert.ok(handover.take());
    handover.start(file, second, async () => writeFileSync(second, Buffer.alloc(500)));
    await assert.rejects(handover.finished(), { code: "compressed-corrupt" });
    await handover.cancel();
    await file.remove();
  });

  it("a second decode past a bound learnt after the hand-over is a decompression-bomb", async () => {
    const { file, second } = await piped(dir, "late", Buffer.alloc(1000, 7));
    const handover = new Handover(Infinity);
    handover.bound(4096, "more than 4 KiB");
    assert.ok(handover.take());
    handover.start(file, second, async () => writeFileSync(second, Buffer.alloc(3000, 7)));
    handover.bound(2000, "more than its header allows");
    await assert.rejects(handover.finished(), { code: "decompression-bomb", message: /more than its header allows/ });
    await handover.cancel();
    await file.remove();
  });

  it("cancel stops a second decode still running (its signal aborts)", async () => {
    const { file, second } = await piped(dir, "stopped", Buffer.alloc(1000, 7));
    const handover = new Handover(Infinity);
    handover.bound(4096, "more than 4 KiB");
    assert.ok(handover.take());
    let aborted = false;
    handover.start(
      file,
      second,
      (signal) =>
        new Promise<void>((_, reject) =>
          signal.addEventListener("abort", () => ((aborted = true), reject(new Error("stopped")))),
        ),
    );
    await handover.cancel();
    assert.equal(aborted, true);
    await file.remove();
  });

  it("takes a bound equal to the ceiling, keeps the first message of equal bounds, and accepts a file of exactly the bound", async () => {
    const edge = new Handover(4096);
    edge.bound(4096, "more than 4 KiB");
    edge.bound(4096, "the same bound, said again");
    assert.equal(edge.take(), true);
    assert.deepEqual(edge.chosen, { bytes: 4096, tooLarge: "more than 4 KiB" });
    const { file, second } = await piped(dir, "exact", Buffer.alloc(1000, 7));
    edge.start(file, second, async () => writeFileSync(second, Buffer.alloc(4096, 7)));
    assert.equal(await edge.finished(), second);
    await edge.cancel();
    await file.remove();
  });

  it("the inspector's reader closes what it reads", async () => {
    const { file } = await piped(dir, "closing", Buffer.alloc(10, 7));
    const inner = file.reader();
    let closed = 0;
    const reader = new Handover(Infinity).reader({
      ...inner,
      close: async () => {
        closed += 1;
        await inner.close();
      },
    });
    await reader.close();
    assert.equal(closed, 1);
    await file.remove();
  });

  it("reads through the piped decode until handed over; a read across the head's end is the second file's", async () => {
    const whole = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251));
    const { file, second } = await piped(dir, "across", whole.subarray(0, 1000));
    const handover = new Handover(Infinity);
    assert.equal(handover.started, false);
    await assert.rejects(handover.finished(), /not handed over/);
    await handover.cancel();
    handover.bound(4096, "more than 4 KiB");
    assert.ok(handover.take());
    const reader = handover.reader(file.reader());
    assert.deepEqual(Buffer.from(await reader.read(0, 10)), whole.subarray(0, 10), "before the hand-over");
    const fds = () => readdirSync("/proc/self/fd").length;
    const open = fds();
    handover.start(file, second, async () => writeFileSync(second, whole));
    assert.equal(handover.started, true);
    assert.deepEqual(Buffer.from(await reader.read(900, 200)), whole.subarray(900, 1100));
    assert.equal(await handover.finished(), second);
    assert.equal(fds(), open, "no descriptor left open by the reads and the comparison");
    await file.remove();
  });

  it("compares a head of more than 1 MiB piece by piece to its end", async () => {
    const MiB = 1 << 20;
    const whole = Buffer.from(Array.from({ length: 3 * MiB }, (_, i) => (i * 7 + (i >> 12)) % 253));
    const head = whole.subarray(0, MiB + MiB / 2);
    const same = await piped(dir, "big-same", head);
    const ok = new Handover(Infinity);
    ok.bound(4 * MiB, "more than 4 MiB");
    assert.ok(ok.take());
    ok.start(same.file, same.second, async () => writeFileSync(same.second, whole));
    assert.equal(await ok.finished(), same.second);
    await same.file.remove();
    const other = await piped(dir, "big-other", head);
    const changed = Buffer.from(whole);
    changed[MiB + 1000] = (changed[MiB + 1000] ?? 0) ^ 0xff;
    const bad = new Handover(Infinity);
    bad.bound(4 * MiB, "more than 4 MiB");
    assert.ok(bad.take());
    bad.start(other.file, other.second, async () => writeFileSync(other.second, changed));
    await assert.rejects(bad.finished(), {
      code: "compressed-corrupt",
      message: /decoded to different bytes the second time/,
    });
    await bad.cancel();
    await other.file.remove();
  });
});
