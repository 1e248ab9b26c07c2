import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { createPipeline } from "../../src/create-pipeline.ts";
import { definePlugin } from "../../src/core/plugin.ts";
import { createQueue, type DiskpipeQueue } from "../../src/queue/queue.ts";
import { createWorker, type QueueWorker, type WorkerEvent } from "../../src/queue/worker.ts";
import { makeImage, makeRaw, sameDisk, tempDir } from "../helpers/images.ts";
import { redisMissing, startRedis, type TestRedis } from "../helpers/redis.ts";
import { waitFor } from "../spool/helpers.ts";

describe("fencing: a worker that lost its lock commits nothing (real redis-server)", { skip: redisMissing }, () => {
  let redis: TestRedis;
  let queue: DiskpipeQueue;
  let worker: QueueWorker;
  let client: Redis;
  const { dir, cleanup } = tempDir("diskpipe-fence-");
  const inDir = join(dir, "in");
  const outDir = join(dir, "out");
  const events: WorkerEvent[] = [];
  /** Jobs held in postConvert (their output written, not committed) until released. */
  const held = new Map<string, () => void>();

  before(async () => {
    mkdirSync(inDir);
    mkdirSync(outDir);
    redis = await startRedis();
    client = new Redis(redis.url);
    queue = await createQueue({ url: redis.url, backoffMs: 10 });
    const gate = definePlugin({
      name: "gate",
      hooks: { postConvert: (ctx) => new Promise<void>((resolve) => held.set(ctx.id, resolve)) },
    });
    const pipeline = createPipeline({ plugins: [gate], workDir: dir });
    worker = await createWorker({
      url: redis.url,
      pipeline,
      jobs: 2,
      name: "paused",
      lockMs: 5000,
      allow: { sources: [inDir], destinations: [outDir] },
    });
    worker.on((event) => event.type !== "pipeline" && events.push(event));
  });
  after(async () => {
    for (const release of held.values()) release();
    await worker?.close();
    client?.disconnect();
    await queue?.close();
    await redis?.stop();
    cleanup();
  });

  const release = async (id: string) => (await waitFor(() => held.get(id), `job ${id} to reach postConvert`))();

  it("its job taken over (another worker's token in the lock) before the commit: no output, no temporary file, the job left to its owner, journaled fenced", async () => {
    const raw = makeRaw(join(dir, "a.raw"), 2 * 1024 * 1024);
    const destination = join(outDir, "a.qcow2");
    const { id } = await queue.submit({
      source: makeImage(raw, "vmdk", join(inDir, "a.vmdk")),
      destination,
      to: "qcow2",
    });
    await waitFor(() => held.get(id), "the conversion to finish");
    assert.ok(
      readdirSync(outDir).some((name) => name.includes(".diskpipe-tmp-")),
      "the output is written under its temporary name",
    );
    await client.set(`bull:diskpipe:${id}:lock`, "token-of-the-worker-that-took-over", "PX", 60_000);
    await release(id);
    const view = await waitFor(async () => {
      const current = await queue.job(id);
      return current?.journal.some((entry) => entry.event === "fenced") ? current : undefined;
    }, "the fenced entry");
    assert.ok(!existsSync(destination), "nothing renamed into the destination");
    assert.deepEqual(readdirSync(outDir), [], "no temporary file");
    assert.equal(view.state, "active", "the job stays with the worker that holds its lock");
    assert.deepEqual(
      view.journal.map((entry) => entry.event),
      ["start", "fenced"],
    );
    assert.equal(events.filter((event) => event.type === "failed" || event.type === "completed").length, 0);
    assert.equal(
      await client.get(`bull:diskpipe:${id}:lock`),
      "token-of-the-worker-that-took-over",
      "the owner's lock untouched",
    );
    await client.del(`bull:diskpipe:${id}:lock`);
  });

  it("a worker that kept its lock commits (the fence renews it)", async () => {
    const raw = makeRaw(join(dir, "b.raw"), 2 * 1024 * 1024, 5);
    const destination = join(outDir, "b.qcow2");
    const { id } = await queue.submit({
      source: makeImage(raw, "vmdk", join(inDir, "b.vmdk")),
      destination,
      to: "qcow2",
    });
    await release(id);
    await queue.wait(id);
    assert.ok(sameDisk(raw, "raw", destination, "qcow2"));
    const journal = (await queue.job(id))?.journal.map((entry) => entry.event);
    assert.deepEqual(journal, ["start", "committing", "done"]);
  });
});
