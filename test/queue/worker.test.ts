import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPipeline } from "../../src/create-pipeline.ts";
import { createQueue, type DiskpipeQueue } from "../../src/queue/queue.ts";
import { createWorker, type QueueWorker } from "../../src/queue/worker.ts";
import { journalOf } from "../../src/queue/journal.ts";
import { makeImage, makeRaw, sameDisk, tempDir } from "../helpers/images.ts";
import { redisMissing, startRedis, type TestRedis } from "../helpers/redis.ts";

describe("queue and worker in one process, with a real redis-server", { skip: redisMissing }, () => {
  let redis: TestRedis;
  let queue: DiskpipeQueue;
  let worker: QueueWorker;
  const { dir, cleanup } = tempDir("diskpipe-queue-");
  const inDir = join(dir, "in");
  const outDir = join(dir, "out");

  before(async () => {
    mkdirSync(inDir);
    mkdirSync(outDir);
    redis = await startRedis();
    queue = await createQueue({ url: redis.url, backoffMs: 10 });
    const pipeline = createPipeline({ plugins: [], workDir: dir });
    worker = await createWorker({ url: redis.url, pipeline, jobs: 2, name: "w1", allow: { sources: [inDir], destinations: [outDir] } });
  });
  after(async () => {
    await worker?.close();
    await queue?.close();
    await redis?.stop();
    cleanup();
  });

  it("converts a submitted job: the output reads as the source (qemu-img compare), the journal shows one completion", async () => {
    const raw = makeRaw(join(dir, "disk.raw"), 4 * 1024 * 1024);
    const source = makeImage(raw, "vmdk", join(inDir, "disk.vmdk"));
    const destination = join(outDir, "disk.qcow2");
    const { id, outcome } = await queue.submit({ source, destination, to: "qcow2" });
    assert.equal(outcome, "added");
    const stages: string[] = [];
    const result = await queue.wait(id, (event) => event.type === "stage-start" && stages.push(event.stage));
    assert.equal(result.from, "vmdk");
    assert.ok(sameDisk(raw, "raw", destination, "qcow2"));
    const view = await queue.job(id);
    assert.equal(view?.state, "completed");
    assert.equal(view?.worker, "w1");
    assert.equal(view?.journal.filter((e) => e.event === "done").length, 1);
    assert.deepEqual(readdirSync(outDir), ["disk.qcow2"]);
  });

  it("the same spec submitted twice is one job", async () => {
    const raw = makeRaw(join(inDir, "twice.raw"), 1024 * 1024);
    const spec = { source: raw, destination: join(outDir, "twice.qcow2"), to: "qcow2" };
    const first = await queue.submit(spec);
    const second = await queue.submit({ to: "qcow2", destination: spec.destination, source: spec.source });
    assert.equal(second.id, first.id);
    assert.notEqual(second.outcome, "added");
    await queue.wait(first.id);
    assert.ok(existsSync(spec.destination));
  });
});
