import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import type { JobEvent } from "../../src/core/job.ts";
import type { InspectResult } from "../../src/core/inspect/types.ts";
import { eventsOf, isProgress, ProgressTracker } from "../../src/queue/progress.ts";

const BASE = { worker: "w1", timings: [], hooks: [] };
const INSPECTION = {
  format: "raw",
  virtualSize: 1,
  actualSize: 1,
  safe: true,
  problems: [],
  matches: [],
  details: {},
} as InspectResult;

/** Events without their `at` times (Date.now()), to compare whole. */
const timeless = (events: JobEvent[]) => events.map(({ ...event }) => (delete (event as { at?: number }).at, event));

describe("ProgressTracker: what a worker publishes, and when", () => {
  let clock = 10_000;
  beforeEach(() => {
    clock = 10_000;
    mock.method(performance, "now", () => clock);
  });
  afterEach(() => mock.restoreAll());

  const progress = (bytes: number, total?: number) =>
    ({ type: "progress", jobId: "j", stage: "fetch", bytes, total, percent: 50, rate: 7 }) as JobEvent;

  it("starts at resolve with no timings or hooks", () => {
    assert.deepEqual(new ProgressTracker("w1").snapshot(), { ...BASE, stage: "resolve" });
  });

  it("a stage's start, its end, an inspection are published at once; a hook waits for the next message", () => {
    const tracker = new ProgressTracker("w1");
    assert.deepEqual(tracker.update({ type: "stage-start", jobId: "j", stage: "fetch", at: 1 }), {
      ...BASE,
      stage: "fetch",
    });
    assert.equal(tracker.update({ type: "hook", jobId: "j", hook: "verify", plugin: "audit", ms: 2.4 }), undefined);
    assert.deepEqual(tracker.update({ type: "stage-end", jobId: "j", stage: "fetch", ms: 12.6 }), {
      ...BASE,
      stage: "fetch",
      timings: [{ stage: "fetch", ms: 13 }],
      hooks: [{ hook: "verify", plugin: "audit", ms: 2 }],
    });
    assert.deepEqual(tracker.update({ type: "inspected", jobId: "j", result: INSPECTION }), {
      ...BASE,
      stage: "fetch",
      timings: [{ stage: "fetch", ms: 13 }],
      hooks: [{ hook: "verify", plugin: "audit", ms: 2 }],
      inspection: INSPECTION,
    });
    assert.equal(tracker.update({ type: "warning", jobId: "j", message: "m" }), undefined);
    assert.equal(
      tracker.update({ type: "queued", jobId: "j", spec: { source: "/a", destination: "/b", to: "raw" }, at: 1 }),
      undefined,
    );
  });

  it("progress at most every 500 ms: 499 ms after the last message it waits, at 500 ms it is sent", () => {
    const tracker = new ProgressTracker("w1");
    tracker.update({ type: "stage-start", jobId: "j", stage: "fetch", at: 1 });
    clock = 10_100;
    assert.equal(tracker.update(progress(5, 10)), undefined);
    clock = 10_499;
    assert.equal(tracker.update(progress(6, 10)), undefined);
    clock = 10_500;
    const sent = { ...BASE, stage: "fetch", bytes: 7, total: 10, percent: 50, rate: 7 };
    assert.deepEqual(tracker.update(progress(7, 10)), sent);
    clock = 10_600;
    assert.equal(tracker.update(progress(8)), undefined, "without a total, never finished");
    assert.deepEqual(tracker.snapshot(), sent, "a held-back message changes nothing");
  });

  it("a stage's last bytes (bytes at or past its total) are sent at once", () => {
    const tracker = new ProgressTracker("w1");
    tracker.update({ type: "stage-start", jobId: "j", stage: "fetch", at: 1 });
    clock = 10_001;
    assert.deepEqual(tracker.update(progress(10, 10))?.bytes, 10);
    clock = 10_002;
    assert.deepEqual(tracker.update(progress(11, 10))?.bytes, 11);
    clock = 10_003;
    assert.equal(tracker.update(progress(9, 10)), undefined);
  });

  it("a new stage drops the previous stage's bytes, total, percent and rate", () => {
    const tracker = new ProgressTracker("w1");
    clock = 20_000;
    assert.equal(tracker.update(progress(1, 10))?.rate, 7);
    assert.deepEqual(tracker.update({ type: "stage-start", jobId: "j", stage: "convert", at: 1 }), {
      ...BASE,
      stage: "convert",
    });
  });
});

describe("eventsOf: a progress message read back from Redis", () => {
  const full = { ...BASE, stage: "convert", bytes: 5, total: 10, percent: 50, rate: 3 };

  it("a new stage starts, then the progress with each number that is finite", () => {
    assert.deepEqual(timeless(eventsOf("dp-1", full, undefined)), [
      { type: "stage-start", jobId: "dp-1", stage: "convert" },
      { type: "progress", jobId: "dp-1", stage: "convert", bytes: 5, total: 10, percent: 50, rate: 3 },
    ]);
    assert.deepEqual(eventsOf("dp-1", { ...full, bytes: 0, total: 0, percent: 0, rate: 0 }, "convert"), [
      { type: "progress", jobId: "dp-1", stage: "convert", bytes: 0, total: 0, percent: 0, rate: 0 },
    ]);
    assert.deepEqual(eventsOf("dp-1", { ...full, total: "10", percent: Infinity, rate: null }, "convert"), [
      { type: "progress", jobId: "dp-1", stage: "convert", bytes: 5 },
    ]);
  });

  it("without finite bytes no progress; the same stage starts nothing", () => {
    for (const bytes of [undefined, "5", Number.NaN, -Infinity])
      assert.deepEqual(eventsOf("dp-1", { ...full, bytes }, "convert"), [], String(bytes));
    assert.deepEqual(timeless(eventsOf("dp-1", { ...full, bytes: undefined }, "fetch")), [
      { type: "stage-start", jobId: "dp-1", stage: "convert" },
    ]);
  });

  it("a stage name with control or bidi characters is escaped; anything not shaped like progress gives nothing", () => {
    const [start] = timeless(eventsOf("dp-1", { ...BASE, stage: "a\u202eb\u001b[2J" }, undefined));
    assert.deepEqual(start, { type: "stage-start", jobId: "dp-1", stage: "a\\u202eb\\x1b[2J" });
    for (const bad of ["convert", null, 5, [], { stage: "convert", bytes: 1 }])
      assert.deepEqual(eventsOf("dp-1", bad, undefined), [], JSON.stringify(bad));
  });
});

describe("isProgress: only the shape of a progress message", () => {
  it("needs a string worker and stage and arrays of timings and hooks", () => {
    assert.equal(isProgress({ ...BASE, stage: "x" }), true);
    for (const bad of [
      { stage: "x", timings: [], hooks: [] },
      { ...BASE, stage: "x", worker: 5 },
      { ...BASE },
      { ...BASE, stage: null },
      { ...BASE, stage: "x", timings: "[]" },
      { ...BASE, stage: "x", timings: undefined },
      { ...BASE, stage: "x", hooks: {} },
      { ...BASE, stage: "x", hooks: undefined },
    ])
      assert.equal(isProgress(bad), false, JSON.stringify(bad));
  });

  it("null, primitives and functions are not progress (and never throw)", () => {
    for (const bad of [null, undefined, 0, "", "progress", true]) assert.equal(isProgress(bad), false, String(bad));
    assert.equal(isProgress(Object.assign(() => {}, { ...BASE, stage: "x" })), false);
  });
});
