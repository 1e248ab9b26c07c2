import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { routeMessages, setVerbosity } from "../../../src/cli/log.ts";
import { ProgressBoard } from "../../../src/cli/progress/board.ts";
import { LineProgress } from "../../../src/cli/progress/lines.ts";
import type { JobEvent } from "../../../src/core/job.ts";

describe("LineProgress: plain progress lines, bounded", () => {
  let printed: string[] = [];
  beforeEach(() => {
    printed = [];
    routeMessages((text) => printed.push(text));
    setVerbosity("normal");
  });
  afterEach(() => {
    routeMessages();
    setVerbosity("normal");
  });

  const run = (events: JobEvent[], jobs = 1) => {
    const board = new ProgressBoard(jobs);
    const lines = new LineProgress(board, jobs > 1);
    for (const event of events) lines.show(event, board.update(event));
    return { board, lines };
  };
  const queued = (jobId: string): JobEvent => ({
    type: "queued",
    jobId,
    spec: { source: `/in/${jobId}.img`, destination: "o", to: "raw" },
    at: 0,
  });

  it("a line when a job begins fetching, inspecting, converting or uploading; not for the other stages", () => {
    run([
      queued("a"),
      ...(
        ["resolve", "fetch", "inspect", "verify", "prepare", "convert", "postConvert", "upload", "cleanup"] as const
      ).map((stage): JobEvent => ({ type: "stage-start", jobId: "a", stage, at: 0 })),
    ]);
    assert.deepEqual(printed, ["a.img: fetch\n", "a.img: inspect\n", "a.img: convert\n", "a.img: upload\n"]);
  });

  it("one line per tenth of a stage, however many progress events: 1000 events give 11 lines", () => {
    const events: JobEvent[] = [queued("a")];
    for (let bytes = 0; bytes <= 1000; bytes++)
      events.push({
        type: "progress",
        jobId: "a",
        stage: "convert",
        bytes,
        total: 1000,
        percent: bytes / 10,
        rate: 100,
      });
    run(events);
    assert.equal(printed.length, 11);
    assert.equal(printed[0], "a.img: convert 0% (0 B of 1000 B, 100 B/s, ETA 10 s)\n");
    assert.equal(printed[4], "a.img: convert 40% (400 B of 1000 B, 100 B/s, ETA 6 s)\n");
    assert.equal(printed[10], "a.img: convert 100% (1000 B of 1000 B, 100 B/s)\n");
  });

  it("counts tenths per job and per stage; a stage without a total has no percentage line", () => {
    run(
      [
        queued("a"),
        queued("b"),
        { type: "progress", jobId: "a", stage: "fetch", bytes: 5, total: 10, percent: 50 },
        { type: "progress", jobId: "b", stage: "fetch", bytes: 5, total: 10, percent: 50 },
        { type: "progress", jobId: "a", stage: "convert", bytes: 5, total: 10, percent: 50 },
        { type: "progress", jobId: "a", stage: "fetch", bytes: 6, total: 10, percent: 59 },
        { type: "progress", jobId: "a", stage: "fetch", bytes: 500 },
      ],
      2,
    );
    assert.deepEqual(printed, [
      "a.img: fetch 50% (5 B of 10 B)\n",
      "b.img: fetch 50% (5 B of 10 B)\n",
      "a.img: convert 50% (5 B of 10 B)\n",
    ]);
  });

  it("in a batch, a total line after each result but the last; none for one job; nothing with --quiet", () => {
    const { lines, board } = run([queued("a"), queued("b")], 3);
    board.update({ type: "done", jobId: "a", result: {} as never });
    lines.afterResult();
    board.update({ type: "failed", jobId: "b", error: {} as never, ms: 1 });
    lines.afterResult();
    board.update(queued("c"));
    board.update({ type: "done", jobId: "c", result: {} as never });
    lines.afterResult();
    assert.deepEqual(printed, ["total: 1 of 3 done, 33%\n", "total: 1 of 3 done, 1 failed, 66%\n"]);

    printed = [];
    const single = run([queued("x"), { type: "done", jobId: "x", result: {} as never }]);
    single.lines.afterResult();
    assert.deepEqual(printed, []);

    setVerbosity("quiet");
    run([
      queued("q"),
      { type: "stage-start", jobId: "q", stage: "convert", at: 0 },
      { type: "progress", jobId: "q", stage: "convert", bytes: 1, total: 2, percent: 50 },
    ]);
    assert.deepEqual(printed, []);
  });
});
