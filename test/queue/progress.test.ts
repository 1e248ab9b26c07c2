import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { eventsOf, NewestProgress, type QueueProgress } from "../../src/queue/progress.ts";

const at = (stage: string): QueueProgress => ({
  worker: "w1",
  stage: stage as QueueProgress["stage"],
  timings: [],
  hooks: [],
});

/** A write the test finishes by hand, recording what was written in order. */
function manualWrites() {
  const written: string[] = [];
  const pending: Array<() => void> = [];
  const write = (progress: QueueProgress) => {
    written.push(progress.stage);
    return new Promise<void>((resolve) => pending.push(resolve));
  };
  const finishOne = async () => {
    pending.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { written, write, finishOne, waiting: () => pending.length };
}

describe("eventsOf: a worker's progress message as the events submit --wait shows", () => {
  it("bounds the stage name, makes it safe to print, and keeps only numbers as numbers", () => {
    const events = eventsOf(
      "dp-1",
      {
        worker: "w",
        stage: `\u001b[2J${"s".repeat(100_000)}`,
        timings: [],
        hooks: [],
        bytes: 5,
        total: "10",
        percent: Number.NaN,
      },
      undefined,
    );
    assert.equal(events.length, 2);
    const [start, progress] = events;
    assert.ok(start?.type === "stage-start" && start.stage.length === 40 && !start.stage.includes("\u001b"));
    assert.deepEqual(progress?.type === "progress" && [progress.bytes, "total" in progress, "percent" in progress], [
      5,
      false,
      false,
    ]);
    assert.deepEqual(
      eventsOf("dp-1", { worker: "w", stage: "convert", timings: [], hooks: [], bytes: "5" }, "convert"),
      [],
    );
  });
});

describe("NewestProgress: a job's progress written one message at a time, the newest only", () => {
  it("a burst sent while a write is under way costs one more write, of the newest message; flushed() waits for it", async () => {
    const { written, write, finishOne } = manualWrites();
    const writer = new NewestProgress(write);
    writer.send(at("resolve"));
    writer.send(at("fetch"));
    writer.send(at("inspect"));
    writer.send(at("verify"));
    assert.deepEqual(written, ["resolve"], "one write at a time");
    let flushed = false;
    const done = writer.flushed().then(() => (flushed = true));
    await finishOne();
    assert.deepEqual(written, ["resolve", "verify"], "the messages in between were replaced by the newest");
    assert.equal(flushed, false, "the newest is not written yet");
    await finishOne();
    await done;
    assert.equal(flushed, true);
  });

  it("sends again after an idle moment, and a message is never written twice", async () => {
    const { written, write, finishOne, waiting } = manualWrites();
    const writer = new NewestProgress(write);
    writer.send(at("convert"));
    await finishOne();
    await writer.flushed();
    assert.equal(waiting(), 0);
    writer.send(at("upload"));
    assert.deepEqual(written, ["convert", "upload"]);
    await finishOne();
    await writer.flushed();
    assert.deepEqual(written, ["convert", "upload"]);
  });

  it("a failed write (Redis restarting) neither rejects flushed() nor stops the next message", async () => {
    const written: string[] = [];
    let fail = true;
    const writer = new NewestProgress(async (progress) => {
      written.push(progress.stage);
      if (fail) throw new Error("Connection is closed.");
    });
    writer.send(at("fetch"));
    writer.send(at("convert"));
    await writer.flushed();
    fail = false;
    writer.send(at("upload"));
    await writer.flushed();
    assert.deepEqual(written, ["fetch", "convert", "upload"]);
  });

  it("flushed() with nothing sent resolves at once", async () => {
    await new NewestProgress(async () => assert.fail("nothing to write")).flushed();
  });
});
