import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPipeline } from "../../src/create-pipeline.ts";
import { createQueue, type DiskpipeQueue } from "../../src/queue/queue.ts";
import { createWorker, type QueueWorker } from "../../src/queue/worker.ts";
import { journalOf } from "../../src/queue/journal.ts";
import { makeImage, makeRaw, sameDisk, tempDir } from "../helpers/images.ts";
import { loopbackName } from "../helpers/loopback-name.ts";
import { redisMissing, startRedis, type TestRedis } from "../helpers/redis.ts";
import { requirement } from "../helpers/requirement.ts";

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
    worker = await createWorker({
      url: redis.url,
      pipeline,
      jobs: 2,
      name: "w1",
      allow: { sources: [inDir], destinations: [outDir] },
    });
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

describe("a worker without the operator's allow-list, with a real redis-server", { skip: redisMissing }, () => {
  let redis: TestRedis;
  let queue: DiskpipeQueue;
  let worker: QueueWorker;
  let server: Server;
  let port = 0;
  let requests = 0;
  let name: string | undefined;
  const { dir, cleanup } = tempDir("diskpipe-queue-local-");

  before(async () => {
    name = await loopbackName();
    server = createServer((_request, response) => void (requests++, response.end("not a disk")));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
    redis = await startRedis();
    queue = await createQueue({ url: redis.url, queueName: "local-names", backoffMs: 10 });
    worker = await createWorker({
      url: redis.url,
      queueName: "local-names",
      pipeline: createPipeline({ workDir: dir }),
      jobs: 1,
      name: "w2",
    });
  });
  after(async () => {
    await worker?.close();
    await queue?.close();
    await redis?.stop();
    server?.close();
    cleanup();
  });

  it("refuses a URL whose host name resolves to this machine, at connect time: no request reaches it", async (t) => {
    const missing = requirement(
      name
        ? false
        : "needs a host name that resolves to 127.0.0.1 only (this machine kind's /etc/hosts has vm and runsc)",
    );
    if (missing || !name) return t.skip(missing || undefined);
    const base = `http://${name}:${port}`;
    const { id } = await queue.submit({ source: `${base}/a.raw`, destination: `${base}/put/a.qcow2`, to: "qcow2" });
    await assert.rejects(queue.wait(id), (error: Error & { code?: string }) => {
      assert.equal(error.code, "fetch-failed", error.message);
      assert.match(error.message, /resolves to a loopback or link-local address/);
      return true;
    });
    assert.equal(requests, 0, "the worker never connected");
  });
});
