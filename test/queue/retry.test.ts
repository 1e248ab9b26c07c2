import assert from "node:assert/strict";
import { mkdirSync, readdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { createPipeline } from "../../src/create-pipeline.ts";
import { createQueue, type DiskpipeQueue } from "../../src/queue/queue.ts";
import { createWorker, type QueueWorker } from "../../src/queue/worker.ts";
import { makeBackedQcow2, makeRaw, tempDir } from "../helpers/images.ts";
import { redisMissing, startRedis, type TestRedis } from "../helpers/redis.ts";

describe("retries, malformed messages and the allow-list, with a real redis-server", { skip: redisMissing }, () => {
  let redis: TestRedis;
  let queue: DiskpipeQueue;
  let worker: QueueWorker;
  let server: Server;
  let origin = "";
  let requests = 0;
  const { dir, cleanup } = tempDir("diskpipe-queue-retry-");
  const inDir = join(dir, "in");
  const outDir = join(dir, "out");

  before(async () => {
    mkdirSync(inDir);
    mkdirSync(outDir);
    server = createServer((_request, response) => {
      requests++;
      response.writeHead(503).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    origin = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
    redis = await startRedis();
    queue = await createQueue({ url: redis.url, attempts: 3, backoffMs: 20 });
    const pipeline = createPipeline({ plugins: [], workDir: dir, fetch: { retries: 0, backoffMs: 0 } });
    worker = await createWorker({
      url: redis.url,
      pipeline,
      jobs: 2,
      name: "retry-worker",
      allow: { sources: [inDir, origin], destinations: [outDir] },
    });
  });
  after(async () => {
    await worker?.close();
    await queue?.close();
    await redis?.stop();
    await new Promise((resolve) => server?.close(resolve));
    cleanup();
  });

  it("a transport failure (fetch-failed) is tried 3 times, then the job fails with its code", async () => {
    const { id } = await queue.submit({
      source: `${origin}/disk.raw`,
      destination: join(outDir, "fetched.raw"),
      to: "raw",
    });
    await assert.rejects(queue.wait(id), (error: Error & { code?: string }) => error.code === "fetch-failed");
    const view = await queue.job(id);
    assert.equal(view?.attempts, 3);
    assert.equal(view?.journal.filter((entry) => entry.event === "start").length, 3);
    assert.equal(requests, 3);
    assert.deepEqual(
      readdirSync(outDir).filter((name) => name.startsWith(".fetched")),
      [],
    );
  });

  it("a rejected image (a qcow2 naming a backing file) is tried once, exit code 3", async () => {
    const evil = makeBackedQcow2(inDir);
    const { id } = await queue.submit({ source: evil, destination: join(outDir, "evil.raw"), to: "raw" });
    await assert.rejects(
      queue.wait(id),
      (error: Error & { code?: string; exitCode?: number }) => error.code === "image-rejected" && error.exitCode === 3,
    );
    const view = await queue.job(id);
    assert.equal(view?.attempts, 1);
    assert.deepEqual(
      view?.journal.map((entry) => entry.event),
      ["start", "failed"],
    );
  });

  it("a path outside the worker's allow-list fails with usage, once, naming the worker", async () => {
    const { id } = await queue.submit({ source: "/etc/passwd", destination: join(outDir, "passwd.raw"), to: "raw" });
    await assert.rejects(
      queue.wait(id),
      (error: Error & { code?: string }) =>
        error.code === "usage" && /worker retry-worker does not accept the source/.test(error.message),
    );
    assert.equal((await queue.job(id))?.attempts, 1);
  });

  it("a path the worker cannot see fails with fetch-failed naming the worker", async () => {
    const { id } = await queue.submit({
      source: join(inDir, "missing.vmdk"),
      destination: join(outDir, "missing.raw"),
      to: "raw",
    });
    await assert.rejects(
      queue.wait(id),
      (error: Error & { code?: string }) =>
        error.code === "fetch-failed" && /worker retry-worker cannot see the source/.test(error.message),
    );
  });

  it("a malformed message fails that job with usage and the worker goes on with the next", async () => {
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const raw = new Queue("diskpipe", { connection });
    try {
      await raw.add(
        "convert",
        {
          v: 1,
          spec: { source: "relative.vmdk", destination: "/x", to: "qcow2", options: { passphraseFile: "/etc/shadow" } },
        },
        { jobId: "bad-1", attempts: 5 },
      );
      await assert.rejects(
        queue.wait("bad-1"),
        (error: Error & { code?: string }) =>
          error.code === "usage" && /malformed job/.test(error.message) && !error.message.includes("/etc/shadow"),
      );
      assert.equal((await queue.job("bad-1"))?.attempts, 1);
    } finally {
      await raw.close();
      connection.disconnect();
    }
    const source = makeRaw(join(inDir, "after.raw"), 1024 * 1024);
    const { id } = await queue.submit({ source, destination: join(outDir, "after.qcow2"), to: "qcow2" });
    assert.equal((await queue.wait(id)).to, "qcow2");
  });

  it("submit refuses, before queuing, a relative path, a URL with credentials and options a message cannot carry", async () => {
    await assert.rejects(
      queue.submit({ source: "in.vmdk", destination: join(outDir, "a.qcow2"), to: "qcow2" }),
      /absolute path or a URL/,
    );
    await assert.rejects(
      queue.submit({ source: "https://user:pw@h/a.vmdk", destination: join(outDir, "a.qcow2"), to: "qcow2" }),
      (error: Error) => /credentials/.test(error.message) && !error.message.includes("pw@"),
    );
    await assert.rejects(
      queue.submit({
        source: "https://h/a.vmdk",
        destination: join(outDir, "a.qcow2"),
        to: "qcow2",
        options: { passphraseFile: "/k" } as never,
      }),
      /options/,
    );
    await assert.rejects(
      queue.submit({
        source: "https://h/a.vmdk",
        destination: join(outDir, "a.qcow2"),
        to: "qcow2",
        overwrite: true,
      } as never),
      /cannot carry overwrite/,
    );
  });
});
