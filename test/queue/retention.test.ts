import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { createPipeline } from "../../src/create-pipeline.ts";
import { createQueue, type DiskpipeQueue } from "../../src/queue/queue.ts";
import { DEFAULT_KEEP_COMPLETED, keepJobsOf } from "../../src/queue/retention.ts";
import { createWorker, type QueueWorker } from "../../src/queue/worker.ts";
import { makeRaw, tempDir } from "../helpers/images.ts";
import { redisMissing, startRedis, type TestRedis } from "../helpers/redis.ts";

const DAY = 86_400_000;

describe(
  "retention of finished jobs (queue.keepCompleted, queue.keepFailed), with a real redis-server",
  { skip: redisMissing },
  () => {
    let redis: TestRedis;
    let client: Redis;
    const queues: DiskpipeQueue[] = [];
    const workers: QueueWorker[] = [];
    const { dir, cleanup } = tempDir("diskpipe-retention-");
    const inDir = join(dir, "in");
    const outDir = join(dir, "out");
    const allow = { sources: [inDir], destinations: [outDir] };

    before(async () => {
      mkdirSync(inDir);
      mkdirSync(outDir);
      redis = await startRedis();
      client = new Redis(redis.url);
    });
    after(async () => {
      for (const worker of workers) await worker.close();
      for (const queue of queues) await queue.close();
      client?.disconnect();
      await redis?.stop();
      cleanup();
    });

    async function start(queueName: string, queueConfig: object) {
      const queue = await createQueue({ url: redis.url, queueName });
      const pipeline = createPipeline({ plugins: [], workDir: dir, queue: queueConfig });
      workers.push(await createWorker({ url: redis.url, queueName, pipeline, jobs: 1, name: `w-${queueName}`, allow }));
      queues.push(queue);
      return queue;
    }

    it("keeps the newest `count` completed and failed jobs from the worker's configuration; older ones go with their journals", async () => {
      const queue = await start("counted", { keepCompleted: { count: 2 }, keepFailed: { count: 1 } });
      const done: string[] = [];
      for (let i = 0; i < 4; i++) {
        const { id } = await queue.submit({
          source: makeRaw(join(inDir, `c${i}.raw`), 1024 * 1024, i),
          destination: join(outDir, `c${i}.qcow2`),
          to: "qcow2",
        });
        await queue.wait(id);
        done.push(id);
      }
      const failed: string[] = [];
      for (let i = 0; i < 2; i++) {
        // Outside the allow-list: refused with usage, never retried.
        const { id } = await queue.submit({
          source: join(dir, `elsewhere-${i}.raw`),
          destination: join(outDir, `f${i}.qcow2`),
          to: "qcow2",
        });
        await queue.wait(id).catch(() => undefined);
        failed.push(id);
      }
      assert.deepEqual(await Promise.all(done.map(async (id) => (await queue.job(id))?.state)), [
        undefined,
        undefined,
        "completed",
        "completed",
      ]);
      assert.deepEqual(await Promise.all(failed.map(async (id) => (await queue.job(id))?.state)), [
        undefined,
        "failed",
      ]);
      for (const id of [done[0], done[1], failed[0]])
        assert.equal(
          await client.exists(`bull:counted:${id}`, `bull:counted:${id}:logs`),
          0,
          `${id} and its journal removed`,
        );
      const counts = await queue.counts();
      assert.deepEqual([counts.completed, counts.failed], [2, 1]);
    });

    it("by default removes completed jobs finished more than 7 days ago when another one finishes, and keeps younger ones", async () => {
      const queue = await start("aged", {});
      const plant = async (id: string, finishedAt: number) => {
        await client.hset(`bull:aged:${id}`, {
          name: "convert",
          data: "{}",
          timestamp: String(finishedAt - 1000),
          finishedOn: String(finishedAt),
          returnvalue: "null",
        });
        await client.rpush(`bull:aged:${id}:logs`, "{}");
        await client.zadd("bull:aged:completed", finishedAt, id);
      };
      await plant("eight-days", Date.now() - 8 * DAY);
      await plant("six-days", Date.now() - 6 * DAY);
      const { id } = await queue.submit({
        source: makeRaw(join(inDir, "aged.raw"), 1024 * 1024, 9),
        destination: join(outDir, "aged.qcow2"),
        to: "qcow2",
      });
      await queue.wait(id);
      assert.equal(await client.exists("bull:aged:eight-days", "bull:aged:eight-days:logs"), 0);
      assert.equal((await queue.job("six-days"))?.state, "completed");
      assert.equal((await queue.job(id))?.state, "completed");
    });

    it("the defaults fill what a retention leaves out (BullMQ's form: a count and an age in seconds)", () => {
      assert.deepEqual(keepJobsOf(undefined, DEFAULT_KEEP_COMPLETED), { count: 1000, age: 7 * 86_400 });
      assert.deepEqual(keepJobsOf({ days: 0.5 }, DEFAULT_KEEP_COMPLETED), { count: 1000, age: 43_200 });
      assert.deepEqual(keepJobsOf({ count: 3 }, { count: 9, days: 1 }), { count: 3, age: 86_400 });
      assert.deepEqual(keepJobsOf({ days: 1e-9 }, DEFAULT_KEEP_COMPLETED), { count: 1000, age: 1 });
    });
  },
);
