import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { viewOf, type JobFields } from "../../src/queue/job-view.ts";

const SPEC = { source: "/in/a.vmdk", destination: "/out/a.qcow2", to: "qcow2" };
const PROGRESS = { worker: "w-progress", stage: "convert", timings: [], hooks: [] };
const RESULT = {
  jobId: "dp-1",
  source: "/in/a.vmdk",
  destination: "/out/a.qcow2",
  from: "vmdk",
  to: "qcow2",
  virtualSize: 1,
  outputSize: 1,
  ms: 1,
  timings: [],
  warnings: [],
};
const line = (worker: string, event = "start") => JSON.stringify({ at: "t", worker, event, attempt: 1 });
const job = (fields: Partial<JobFields> = {}): JobFields => ({
  data: { v: 1, spec: SPEC },
  progress: 0,
  timestamp: 5,
  attemptsMade: 0,
  ...fields,
});

describe("viewOf: a queued job as the queue shows it", () => {
  it("a job of nothing but its times reads as exactly that: no empty or undefined fields", () => {
    assert.deepEqual(viewOf(job({ data: undefined }), "waiting", []), {
      id: "",
      state: "waiting",
      submittedAt: 5,
      attempts: 0,
      journal: [],
    });
  });

  it("a running job: its spec, finish time, progress, attempts started and worker", () => {
    const view = viewOf(
      job({ id: "dp-1", progress: PROGRESS, attemptsMade: 1, attemptsStarted: 2, finishedOn: 9 }),
      "active",
      [line("w-journal")],
    );
    assert.deepEqual(view, {
      id: "dp-1",
      state: "active",
      ...SPEC,
      submittedAt: 5,
      finishedAt: 9,
      attempts: 2,
      worker: "w-progress",
      progress: PROGRESS,
      journal: [JSON.parse(line("w-journal"))],
    });
    assert.equal(viewOf(job({ attemptsMade: 3 }), "active", []).attempts, 3);
  });

  it("states: BullMQ's waiting kinds read as waiting; anything else, prototype names included, as unknown", () => {
    const state = (name: string) => viewOf(job(), name, []).state;
    for (const known of ["waiting", "active", "delayed", "completed", "failed"] as const)
      assert.equal(state(known), known);
    assert.deepEqual(["prioritized", "waiting-children"].map(state), ["waiting", "waiting"]);
    assert.deepEqual(["paused", "", "constructor", "__proto__", "toString", "WAITING"].map(state), [
      "unknown",
      "unknown",
      "unknown",
      "unknown",
      "unknown",
      "unknown",
    ]);
  });

  it("the worker: the progress message's, else the newest journal line's; escaped", () => {
    const lines = [line("w1"), line("w2"), line("w3")];
    assert.equal(viewOf(job(), "active", lines).worker, "w3");
    assert.equal(viewOf(job({ progress: PROGRESS }), "active", lines).worker, "w-progress");
    const hostile = viewOf(job({ progress: { ...PROGRESS, worker: "w\u001b[2J\u202e" } }), "active", []);
    assert.equal(hostile.worker, "w\\x1b[2J\\u202e");
    assert.equal(viewOf(job({ progress: { ...PROGRESS, worker: "" } }), "active", []).worker, undefined);
  });

  it("the progress: only its checked fields, bounded and escaped (a queue writer wrote it)", () => {
    const hostile = {
      worker: "w\u001b[2J",
      stage: `convert\u202e${"x".repeat(100)}`,
      bytes: 5,
      total: "9",
      percent: Number.NaN,
      timings: [...Array.from({ length: 5000 }, () => ({ stage: "fetch", ms: 1 })), { stage: 1, ms: 2 }],
      hooks: [{ hook: "verify\n", plugin: "p", ms: 3 }, { hook: "x" }],
      inspection: { format: "raw" },
      extra: "x".repeat(1 << 20),
    };
    const shown = viewOf(job({ progress: hostile }), "active", []).progress;
    assert.equal(shown?.worker, "w\\x1b[2J");
    assert.equal(shown?.stage, `convert\\u202e${"x".repeat(100)}`.slice(0, 40));
    assert.equal(shown?.bytes, 5);
    assert.equal("total" in (shown ?? {}), false);
    assert.equal("percent" in (shown ?? {}), false);
    assert.equal(shown?.timings.length, 1000);
    assert.deepEqual(shown?.hooks, [{ hook: "verify\\n", plugin: "p", ms: 3 }]);
    assert.equal("inspection" in (shown ?? {}), false);
    assert.equal("extra" in (shown ?? {}), false);
    assert.equal(viewOf(job({ progress: { ...PROGRESS, timings: "x" } }), "active", []).progress, undefined);
  });

  it("locations lose their credentials and control characters; a spec field that is empty or not text is left out", () => {
    const view = viewOf(
      job({ data: { spec: { source: "https://u:pw@h/a.vmdk?token=abc", destination: "/out/\u202ea", to: 7 } } }),
      "waiting",
      [],
    );
    assert.deepEqual(
      [view.source, view.destination, "to" in view],
      ["https://h/a.vmdk?token=REDACTED", "/out/\\u202ea", false],
    );
    const empty = viewOf(job({ data: { spec: { source: "", destination: "", to: "" } } }), "waiting", []);
    assert.deepEqual(["source" in empty, "destination" in empty, "to" in empty], [false, false, false]);
    for (const data of ["spec", null, { spec: "x" }, []])
      assert.equal("source" in viewOf(job({ data }), "waiting", []), false, JSON.stringify(data));
  });

  it("a result only for a completed job, and only of a result's shape", () => {
    assert.deepEqual(viewOf(job({ returnvalue: RESULT }), "completed", []).result, RESULT);
    assert.equal("result" in viewOf(job({ returnvalue: RESULT }), "failed", []), false);
    assert.equal("result" in viewOf(job({ returnvalue: { ms: 1 } }), "completed", []), false);
  });
});

describe("viewOf: a job's error", () => {
  const error = (state: string, fields: Partial<JobFields>) => viewOf(job(fields), state, []).error;

  it("a failed job has one, its code read from the reason; without a reason, io-failed saying so", () => {
    assert.deepEqual(error("failed", { failedReason: "GET https://u:pw@h/a: 503 [fetch-failed]" }), {
      code: "fetch-failed",
      message: "GET https://h/a: 503",
    });
    assert.deepEqual(error("failed", {}), { code: "io-failed", message: "the job failed without a reason" });
  });

  it("a delayed job has one only with a reason (the attempt before its retry failed); other states have none", () => {
    assert.deepEqual(error("delayed", { failedReason: "boom [upload-failed]" }), {
      code: "upload-failed",
      message: "boom",
    });
    assert.equal(error("delayed", {}), undefined);
    assert.equal(error("delayed", { failedReason: "" }), undefined);
    for (const state of ["active", "waiting", "completed", "paused"])
      assert.equal(error(state, { failedReason: "boom [usage]" }), undefined, state);
  });

  it("a reason too long to read is named by its size, never parsed for a code; what was omitted is listed", () => {
    const omitted = ["data: 70000 bytes", "failedReason: 52428800 bytes"];
    const view = viewOf(job({ failedReason: "x [usage]", omitted }), "failed", []);
    assert.deepEqual(view.error, { code: "io-failed", message: "the reason was not read (52428800 bytes)" });
    assert.deepEqual(view.omitted, omitted);
    assert.notEqual(view.omitted, omitted, "a copy");
    assert.deepEqual(error("delayed", { omitted: ["failedReason: 9000 bytes"] }), {
      code: "io-failed",
      message: "the reason was not read (9000 bytes)",
    });
    assert.equal("omitted" in viewOf(job({ omitted: [] }), "failed", []), false);
  });
});
