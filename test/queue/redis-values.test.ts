import assert from "node:assert/strict";
import type { Job } from "bullmq";
import { describe, it } from "node:test";
import { viewOf } from "../../src/queue/job-view.ts";
import { journalOf } from "../../src/queue/journal.ts";
import { committedEarlier } from "../../src/queue/commit-record.ts";
import { fromRedis } from "../../src/queue/redis-values.ts";
import { tempDir } from "../helpers/images.ts";
import { lstatSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const result = {
  jobId: "dp-1",
  source: "/in/a.vmdk",
  destination: "/out/a.qcow2",
  from: "vmdk",
  to: "qcow2",
  virtualSize: 1024,
  outputSize: 512,
  ms: 9,
  timings: [{ stage: "convert", ms: 5 }],
  warnings: [],
};

/** A job as BullMQ hands it over, with the fields a queue writer controls. */
const jobWith = (fields: Record<string, unknown>) =>
  ({
    id: "dp-1",
    timestamp: 1,
    attemptsMade: 1,
    data: { v: 1, spec: { source: "/in/a.vmdk", destination: "/out/a.qcow2", to: "qcow2" } },
    ...fields,
  }) as unknown as Job;

describe("values read from Redis (written by whoever can write the queue)", () => {
  it("a job's result is kept only when its numbers are numbers, its text made safe to print", () => {
    assert.deepEqual(fromRedis.result(result), result);
    assert.equal(fromRedis.result({ ...result, outputSize: "a lot" }), undefined);
    assert.equal(fromRedis.result("done"), undefined);
    const escaped = fromRedis.result({
      ...result,
      source: "/in/\u001b[31mred",
      timings: [{ stage: "x", ms: "slow" }, 7],
      warnings: ["ok", 3],
    });
    assert.equal(escaped?.source, "/in/\\x1b[31mred");
    assert.deepEqual([escaped?.timings, escaped?.warnings], [[], ["ok"]]);
  });

  it("a completed job's view carries its result only when it has the shape of one (what submit --wait prints and returns)", () => {
    assert.deepEqual(viewOf(jobWith({ returnvalue: result }), "completed", []).result, result);
    assert.equal(
      viewOf(jobWith({ returnvalue: { outputSize: "a lot", source: 7 } }), "completed", []).result,
      undefined,
    );
    assert.equal(
      viewOf(jobWith({ returnvalue: result }), "active", []).result,
      undefined,
      "no result before the job completes",
    );
  });

  it("a journal keeps a committing entry only with a file identity of numbers and a result of the right shape", () => {
    const entry = {
      at: "2026-12-02T00:00:00.000Z",
      worker: "w1",
      event: "committing",
      output: { path: "/out/a.qcow2", dev: 1, ino: 2, size: 512 },
      result,
    };
    const lines = [
      JSON.stringify(entry),
      JSON.stringify({ ...entry, output: { path: "/out/a.qcow2", dev: "1", ino: 2, size: 512 } }),
      JSON.stringify({ ...entry, output: { path: ["/out/a.qcow2"], dev: 1, ino: 2, size: 512 } }),
      JSON.stringify({ ...entry, result: { ...result, outputSize: null } }),
      JSON.stringify({ ...entry, result: undefined }),
      "not json",
    ];
    assert.deepEqual(journalOf(lines), [entry]);
  });

  it("a redelivered job never returns a forged result: a committing entry of the wrong shape counts for nothing", async () => {
    const { dir, cleanup } = tempDir("diskpipe-redis-values-");
    try {
      const destination = join(dir, "a.qcow2");
      writeFileSync(destination, "x".repeat(512));
      const { dev, ino, size } = lstatSync(destination);
      const committing = (forged: unknown) =>
        JSON.stringify({
          at: "t",
          worker: "w1",
          event: "committing",
          output: { path: destination, dev, ino, size },
          result: forged,
        });
      assert.deepEqual(await committedEarlier(journalOf([committing(result)]), destination), result);
      assert.equal(
        await committedEarlier(
          journalOf([committing({ ...result, virtualSize: "1 TiB", outputSize: [] })]),
          destination,
        ),
        undefined,
      );
    } finally {
      cleanup();
    }
  });
});
