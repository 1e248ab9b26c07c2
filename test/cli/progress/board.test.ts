import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ProgressBoard } from "../../../src/cli/progress/board.ts";
import type { JobEvent } from "../../../src/core/job.ts";

const queued = (jobId: string, source: string): JobEvent => ({
  type: "queued",
  jobId,
  spec: { source, destination: "out", to: "qcow2" },
  at: 0,
});
const stage = (jobId: string, name: "fetch" | "inspect" | "convert" | "upload"): JobEvent => ({
  type: "stage-start",
  jobId,
  stage: name,
  at: 0,
});
const progress = (
  jobId: string,
  name: "fetch" | "convert",
  bytes: number,
  total?: number,
  rate?: number,
): JobEvent => ({
  type: "progress",
  jobId,
  stage: name,
  bytes,
  ...(total !== undefined && { total, percent: (bytes / total) * 100 }),
  ...(rate !== undefined && { rate }),
});

describe("ProgressBoard: running jobs and the batch as a whole, from job events", () => {
  it("lists the started jobs oldest first, each with its stage's bytes, rate and ETA; names escaped", () => {
    const board = new ProgressBoard(3);
    assert.equal(board.update(queued("a", "https://host/dir/a\u001b[31m.img")), "a\\x1b[31m.img");
    board.update(queued("b", "/images/b.vmdk"));
    assert.deepEqual(board.running(), [], "queued is not running yet");
    board.update(stage("a", "fetch"));
    board.update(progress("a", "fetch", 250, 1000, 50));
    board.update(stage("b", "inspect"));
    assert.deepEqual(board.running(), [
      { id: "a", name: "a\\x1b[31m.img", stage: "fetch", bytes: 250, total: 1000, rate: 50, eta: 15 },
      {
        id: "b",
        name: "b.vmdk",
        stage: "inspect",
        bytes: undefined,
        total: undefined,
        rate: undefined,
        eta: undefined,
      },
    ]);
    board.update(stage("a", "convert"));
    assert.equal(board.running()[0].bytes, undefined, "a new stage starts from nothing");
    board.update(progress("a", "convert", 10));
    assert.equal(board.running()[0].eta, undefined, "no total, no ETA");
    assert.equal(board.update({ type: "done", jobId: "a", result: {} as never }), "a\\x1b[31m.img");
    assert.deepEqual(
      board.running().map((row) => row.id),
      ["b"],
    );
    assert.equal(
      board.update({ type: "warning", jobId: "nobody", message: "x" }),
      "nobody",
      "an unknown job is named by its id",
    );
  });

  it("counts fetching as the first half of a job and converting as the second; done and failed jobs whole", () => {
    let now = 0;
    const board = new ProgressBoard(4, () => now);
    for (const id of ["a", "b"]) board.update(queued(id, `${id}.img`));
    board.update(stage("a", "fetch"));
    board.update(progress("a", "fetch", 500, 1000, 100));
    assert.equal(board.overall().fraction, 0.25 / 4);
    board.update(stage("a", "inspect"));
    assert.equal(board.overall().fraction, 0.5 / 4);
    board.update(stage("a", "convert"));
    board.update(progress("a", "convert", 500, 1000, 300));
    board.update(stage("b", "fetch"));
    board.update(progress("b", "fetch", 0, undefined, 20));
    now = 10_000;
    const overall = board.overall();
    assert.equal(overall.fraction, 0.75 / 4);
    assert.equal(overall.rate, 320, "the running jobs' rates summed");
    assert.equal(overall.jobs, 4, "the batch's size, though only two were queued yet");
    assert.equal(overall.eta, (10 * (1 - 0.75 / 4)) / (0.75 / 4));
    board.update(stage("a", "upload"));
    assert.equal(board.overall().fraction, 1 / 4);
    board.update({ type: "done", jobId: "a", result: {} as never });
    board.update({ type: "failed", jobId: "b", error: { code: "io-failed", message: "x" } as never, ms: 1 });
    assert.deepEqual(
      { ...board.overall(), eta: undefined },
      { jobs: 4, done: 1, failed: 1, fraction: 0.5, rate: 0, eta: undefined },
    );
  });

  it("gives no overall ETA in the first second or before 1 % is done, nor when all is done", () => {
    let now = 0;
    const board = new ProgressBoard(1, () => now);
    board.update(queued("a", "a.img"));
    board.update(stage("a", "convert"));
    board.update(progress("a", "convert", 600, 1000, 100));
    now = 900;
    assert.equal(board.overall().eta, undefined, "under a second");
    now = 2000;
    assert.ok(Math.abs((board.overall().eta ?? 0) - 0.5) < 1e-9, "2 s for 80 %: 0.5 s to go");
    const slow = new ProgressBoard(200, () => now);
    slow.update(queued("a", "a.img"));
    slow.update(stage("a", "fetch"));
    slow.update(progress("a", "fetch", 10, 1000, 1));
    now = 60_000;
    assert.equal(slow.overall().eta, undefined, "under 1 %");
    board.update({ type: "done", jobId: "a", result: {} as never });
    assert.equal(board.overall().eta, undefined);
    assert.equal(board.overall().fraction, 1);
  });
});
