import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { JobEvent, JobResult, JobSpec } from "../../src/core/job.ts";
import type { DiskpipeQueue, QueueEvent } from "../../src/queue/queue.ts";
import { queueExecutor } from "../../src/queue/spool-executor.ts";

const SPEC = { source: "/s/work/a.vmdk", destination: "/s/done/a.qcow2", to: "qcow2" };
const INSPECTION = {
  format: "vmdk",
  virtualSize: 1048576,
  actualSize: 65536,
  safe: true,
  problems: [],
  matches: ["vmdk"],
  details: {},
};
const at = (stage: string, extra: Record<string, unknown> = {}) => ({
  worker: "w",
  stage,
  timings: [],
  hooks: [],
  ...extra,
});

/**
 * Runs one spool job on a fake queue, sends it `events` (a bare progress message is for job dp-1),
 * finishes it, and answers what was submitted and the spool's events without their times.
 */
async function run(spec: Record<string, unknown>, events: unknown[]) {
  const listeners = new Set<(event: QueueEvent) => void>();
  const submitted: unknown[] = [];
  let finish: (result: JobResult) => void = () => {};
  const queue = {
    submit: async (message: unknown) => (submitted.push(message), { id: "dp-1", outcome: "added" as const }),
    events: {
      on: (listener: (event: QueueEvent) => void) => (listeners.add(listener), () => listeners.delete(listener)),
    },
    wait: () => new Promise<JobResult>((resolve) => (finish = resolve)),
  } as unknown as DiskpipeQueue;
  const executor = queueExecutor(queue);
  const seen: JobEvent[] = [];
  executor.on((event) => seen.push(event));
  const running = executor.run(spec as unknown as JobSpec, { id: "spool-1" });
  await new Promise((resolve) => setImmediate(resolve));
  for (const event of events) {
    const queued =
      event && typeof event === "object" && "type" in event
        ? event
        : { type: "progress", jobId: "dp-1", progress: event };
    for (const listener of listeners) listener(queued as QueueEvent);
  }
  finish({ jobId: "dp-1" } as JobResult);
  await running;
  const timeless = seen.map(({ ...event }) => (delete (event as { at?: number }).at, event));
  return { submitted, events: timeless };
}

describe("queueExecutor: what is submitted", () => {
  it("every field a message carries, maxSize 0 included; nothing else (no signal, no unknown key)", async () => {
    const full = {
      ...SPEC,
      from: "vmdk",
      container: "ovf",
      checksum: `sha256:${"0".repeat(64)}`,
      maxSize: 0,
      options: { compress: true },
    };
    const { submitted } = await run({ ...full, overwrite: true, signal: new AbortController().signal }, []);
    assert.deepEqual(submitted, [full]);
  });

  it("an absent field is left out, not sent as undefined", async () => {
    const { submitted } = await run({ ...SPEC, from: undefined, container: "", maxSize: undefined }, []);
    assert.deepEqual(submitted, [SPEC]);
  });
});

describe("queueExecutor: the worker's progress messages as the spool's events", () => {
  it("only progress messages of its own job count", async () => {
    const { events } = await run(SPEC, [
      { type: "progress", jobId: "dp-other", progress: at("fetch") },
      { type: "active", jobId: "dp-1", progress: at("fetch") },
      { type: "progress", jobId: "dp-1", progress: at("convert") },
    ]);
    assert.deepEqual(events, [
      { type: "queued", jobId: "spool-1", spec: SPEC },
      { type: "stage-start", jobId: "spool-1", stage: "convert" },
    ]);
  });

  it("fewer timings or fewer hooks than before is a new attempt: queued again, then all it has so far", async () => {
    const two = [
      { stage: "resolve", ms: 1 },
      { stage: "fetch", ms: 2 },
    ];
    const hook = { hook: "verify", plugin: "audit", ms: 3 };
    const { events } = await run(SPEC, [
      at("convert", { timings: two, hooks: [hook] }),
      at("convert", { timings: two.slice(0, 1), hooks: [hook] }),
      at("convert", { timings: two.slice(0, 1), hooks: [] }),
    ]);
    const stageEnd = (stage: string, ms: number) => ({ type: "stage-end", jobId: "spool-1", stage, ms });
    const restart = [{ type: "queued", jobId: "spool-1", spec: SPEC }, stageEnd("resolve", 1)];
    const start = { type: "stage-start", jobId: "spool-1", stage: "convert" };
    assert.deepEqual(events, [
      ...restart,
      stageEnd("fetch", 2),
      { type: "hook", jobId: "spool-1", ...hook },
      start,
      ...restart,
      { type: "hook", jobId: "spool-1", ...hook },
      start,
      ...restart,
      start,
    ]);
  });

  it("the inspection is passed on once per attempt, whatever the later messages repeat", async () => {
    const { events } = await run(SPEC, [
      at("inspect", { inspection: { format: "vmdk" } }),
      at("inspect", { inspection: INSPECTION }),
      at("inspect"),
      at("inspect", { inspection: INSPECTION }),
      at("convert", { inspection: INSPECTION }),
    ]);
    assert.deepEqual(
      events.filter((event) => event.type === "inspected"),
      [{ type: "inspected", jobId: "spool-1", result: INSPECTION }],
    );
  });

  it("progress keeps each finite number (0 included) and leaves out the others", async () => {
    const { events } = await run(SPEC, [
      at("fetch", { bytes: 0, total: 0, percent: 0, rate: 0 }),
      at("fetch", { bytes: 5, total: 10, percent: 50, rate: 2 }),
      at("fetch", { bytes: 6, total: Number.NaN, percent: "60", rate: Infinity }),
      at("fetch", { bytes: "7", total: 10 }),
    ]);
    const progress = (fields: Record<string, number>) => ({
      type: "progress",
      jobId: "spool-1",
      stage: "fetch",
      ...fields,
    });
    assert.deepEqual(
      events.filter((event) => event.type === "progress"),
      [
        progress({ bytes: 0, total: 0, percent: 0, rate: 0 }),
        progress({ bytes: 5, total: 10, percent: 50, rate: 2 }),
        progress({ bytes: 6 }),
      ],
    );
  });

  it("a stage name of control and bidi characters arrives escaped", async () => {
    const { events } = await run(SPEC, [at("\u001b[2J\u202econvert")]);
    assert.deepEqual(events.at(-1), { type: "stage-start", jobId: "spool-1", stage: "\\x1b[2J\\u202econvert" });
  });
});
