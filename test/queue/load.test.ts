import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { bullmq, bullQueueClasses, ioredis } from "../../src/queue/load.ts";
import { repoRoot } from "../helpers/cli.ts";
import { redisMissing, startRedis, type TestRedis } from "../helpers/redis.ts";

/** Runs `code` (an ES module) in a fresh node with tsx, and returns what it printed. */
function fresh(code: string): string {
  const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
    cwd: repoRoot,
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout;
}

describe("loading BullMQ and ioredis (what submit pays at every start)", { skip: redisMissing }, () => {
  let redis: TestRedis;
  before(async () => (redis = await startRedis()));
  after(async () => redis?.stop());

  it("a queue (submit, the dashboard, watch --queue) requires BullMQ's Queue, QueueEvents and Job files, not its index, worker or other back-ends", () => {
    const queueModule = pathToFileURL(join(repoRoot, "src", "queue", "queue.ts")).href;
    const printed = fresh(`
      import { createRequire } from "node:module";
      const { createQueue } = await import(${JSON.stringify(queueModule)});
      const queue = await createQueue({ url: ${JSON.stringify(redis.url)} });
      await queue.counts();
      await queue.close();
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((file) => file.includes("/node_modules/bullmq/"));
      console.log(JSON.stringify(loaded.map((file) => file.replace(/^.*\\/node_modules\\/bullmq\\//, ""))));
    `);
    const loaded = JSON.parse(printed) as string[];
    for (const file of ["dist/cjs/classes/queue.js", "dist/cjs/classes/queue-events.js", "dist/cjs/classes/job.js"])
      assert.ok(loaded.includes(file), `${file} loaded: ${loaded.join(" ")}`);
    for (const file of [
      "dist/cjs/index.js",
      "dist/cjs/classes/worker.js",
      "dist/cjs/classes/flow-producer.js",
      "dist/cjs/classes/sandbox.js",
    ])
      assert.ok(!loaded.includes(file), `${file} not loaded`);
    assert.ok(!loaded.some((file) => file.startsWith("dist/cjs/postgres/")), "no PostgreSQL back-end");
  });

  it("the classes are BullMQ's own: the same constructors whether reached through the class files or the index", () => {
    const { Queue, QueueEvents, Job } = bullQueueClasses();
    const all = bullmq();
    assert.equal(Queue, all.Queue);
    assert.equal(QueueEvents, all.QueueEvents);
    assert.equal(Job, all.Job);
    assert.equal(typeof all.Worker, "function");
    assert.equal(typeof ioredis(), "function");
  });
});
