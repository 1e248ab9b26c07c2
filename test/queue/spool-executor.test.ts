import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { JobEvent, JobResult } from "../../src/core/job.ts";
import type { DiskpipeQueue, QueueEvent } from "../../src/queue/queue.ts";
import { queueExecutor } from "../../src/queue/spool-executor.ts";

/** A queue that records submissions and lets the test send progress and finish the job. */
function fakeQueue() {
  const listeners = new Set<(event: QueueEvent) => void>();
  let finish: (result: JobResult) => void = () => {};
  const submitted: unknown[] = [];
  const queue = {
    submit: async (spec: unknown) => (submitted.push(spec), { id: "dp-1", outcome: "added" as const }),
    events: {
      on: (listener: (event: QueueEvent) => void) => (listeners.add(listener), () => listeners.delete(listener)),
    },
    wait: (_id: string, _onEvent: unknown, options: { signal?: AbortSignal } = {}) =>
      new Promise<JobResult>((resolve, reject) => {
        finish = resolve;
        options.signal?.addEventListener("abort", () => reject(options.signal?.reason), { once: true });
      }),
  } as unknown as DiskpipeQueue;
  return {
    queue,
    submitted,
    listeners,
    progress: (progress: unknown, jobId = "dp-1") =>
      listeners.forEach((listener) => listener({ type: "progress", jobId, progress })),
    finish: (result: JobResult) => finish(result),
  };
}

const RESULT = {
  jobId: "dp-1",
  source: "/s/work/a",
  destination: "/s/done/a.qcow2",
  from: "vmdk",
  to: "qcow2",
  virtualSize: 1,
  outputSize: 1,
  ms: 1,
  timings: [],
  warnings: [],
};
const INSPECTION = {
  format: "vmdk",
  virtualSize: 1048576,
  actualSize: 65536,
  safe: true,
  problems: [],
  matches: ["vmdk"],
  details: {},
};

describe("queueExecutor: a spool's jobs on a queue's workers", () => {
  it("submits the job without its signal, and turns the worker's progress into the spool's pipeline events (well-typed parts only)", async () => {
    const fake = fakeQueue();
    const executor = queueExecutor(fake.queue);
    const events: JobEvent[] = [];
    executor.on((event) => events.push(event));
    const controller = new AbortController();
    const running = executor.run(
      {
        source: "/s/work/a.vmdk",
        destination: "/s/done/a.qcow2",
        to: "qcow2",
        options: { subformat: "x" },
        signal: controller.signal,
      },
      { id: "spool-1" },
    );
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(fake.submitted, [
      { source: "/s/work/a.vmdk", destination: "/s/done/a.qcow2", to: "qcow2", options: { subformat: "x" } },
    ]);
    fake.progress({ worker: "w", stage: "resolve", timings: [], hooks: [] });
    fake.progress({ worker: "w", stage: "resolve", timings: [], hooks: [] }, "dp-other");
    fake.progress({
      worker: "w",
      stage: "convert",
      timings: [{ stage: "resolve", ms: 3 }],
      hooks: [{ hook: "verify", plugin: "audit", ms: 2 }],
      inspection: INSPECTION,
      bytes: 10,
      total: 20,
      percent: 50,
    });
    fake.progress({
      worker: "w",
      stage: "convert",
      timings: [
        { stage: "resolve", ms: 3 },
        { stage: 5, ms: "slow" },
      ],
      hooks: [
        { hook: "verify", plugin: "audit", ms: 2 },
        { hook: "<x>", plugin: "p", ms: Number.NaN },
      ],
      bytes: "lots",
      percent: 60,
    });
    fake.progress({
      worker: "w2",
      stage: "resolve",
      timings: [],
      hooks: [],
      inspection: { format: "vmdk", virtualSize: "huge" },
    });
    fake.progress("not progress");
    fake.finish(RESULT as JobResult);
    assert.deepEqual(await running, RESULT);
    const summary = events.map(
      (event) =>
        `${event.jobId}:${event.type}${"stage" in event ? `:${event.stage}` : ""}${"hook" in event ? `:${event.hook}` : ""}`,
    );
    assert.deepEqual(summary, [
      "spool-1:queued",
      "spool-1:stage-start:resolve",
      "spool-1:stage-end:resolve",
      "spool-1:hook:verify",
      "spool-1:inspected",
      "spool-1:stage-start:convert",
      "spool-1:progress:convert",
      "spool-1:queued",
      "spool-1:stage-start:resolve",
    ]);
    assert.equal(fake.listeners.size, 0, "it stops listening once the job ended");
  });

  it("a forged progress message of a million timings and hooks and a 1 MB stage name gives bounded events (1000 of each, a 40-character stage)", async () => {
    const fake = fakeQueue();
    const executor = queueExecutor(fake.queue);
    const events: JobEvent[] = [];
    executor.on((event) => events.push(event));
    const running = executor.run(
      { source: "/s/work/h.vmdk", destination: "/s/done/h.qcow2", to: "qcow2" },
      { id: "spool-h" },
    );
    await new Promise((resolve) => setImmediate(resolve));
    const many = Array.from({ length: 1_000_000 }, (_, i) => ({
      stage: "convert",
      ms: i,
      hook: "verify",
      plugin: "p",
    }));
    fake.progress({ worker: "w", stage: "x".repeat(1024 * 1024), timings: many, hooks: many, bytes: 1 });
    fake.finish(RESULT as JobResult);
    await running;
    const count = (type: string) => events.filter((event) => event.type === type).length;
    assert.deepEqual([count("stage-end"), count("hook")], [1000, 1000]);
    const start = events.find((event) => event.type === "stage-start");
    assert.equal(start?.type === "stage-start" && start.stage.length, 40);
  });

  it("a spool that stops only stops waiting: run rejects with the abort's reason, the queued job is left alone", async () => {
    const fake = fakeQueue();
    const controller = new AbortController();
    const running = queueExecutor(fake.queue).run(
      { source: "/s/work/b", destination: "/s/done/b.raw", to: "raw", signal: controller.signal },
      { id: "spool-2" },
    );
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort(new Error("the spool is stopping"));
    await assert.rejects(running, /the spool is stopping/);
    assert.equal(fake.listeners.size, 0);
    const aborted = new AbortController();
    aborted.abort(new Error("already stopped"));
    await assert.rejects(
      queueExecutor(fake.queue).run(
        { source: "/s/work/c", destination: "/s/done/c.raw", to: "raw", signal: aborted.signal },
        { id: "spool-3" },
      ),
      /already stopped/,
    );
    assert.equal(fake.submitted.length, 1, "nothing submitted once stopped");
  });
});
