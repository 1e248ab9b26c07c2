import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { isDiskpipeError } from "../../src/core/errors.ts";
import { FIELD_LIMITS, LIST_FIELD_LIMITS, LOG_LIMITS, readJobBounded } from "../../src/queue/bounded-read.ts";
import { createQueue, type DiskpipeQueue } from "../../src/queue/queue.ts";
import { redisMissing, startRedis, type TestRedis } from "../helpers/redis.ts";

const MB50 = 50 * 1024 * 1024;
const LINES = 100_000;
const line = (i: number) =>
  JSON.stringify({ at: "2026-12-03T00:00:00.000Z", worker: `w${i}`, event: "start", attempt: 1 });

describe("what a queue writer put in Redis is read within bounds (real redis-server)", { skip: redisMissing }, () => {
  let redis: TestRedis;
  let client: Redis;
  let queue: DiskpipeQueue;

  /** Bytes Redis has sent to its clients so far (this client's INFO answers included: a few KiB). */
  const sent = async () => Number(/total_net_output_bytes:(\d+)/.exec(await client.info("stats"))?.[1] ?? Number.NaN);

  /** Plants a failed job whose every field is 50 MB and whose journal has 100,000 lines, as a hostile writer could. */
  async function plantHostile(id: string) {
    const huge = "x".repeat(MB50);
    await client.hset(`bull:diskpipe:${id}`, {
      name: "convert",
      data: JSON.stringify({ v: 1, spec: { source: huge } }),
      progress: JSON.stringify({ worker: huge }),
      returnvalue: JSON.stringify({ outputSize: 1, ms: 1, source: huge }),
      failedReason: `${huge} [image-rejected]`,
      timestamp: String(Date.now()),
      finishedOn: String(Date.now()),
      attemptsMade: "1",
    });
    for (let i = 0; i < LINES; i += 10_000)
      await client.rpush(`bull:diskpipe:${id}:logs`, ...Array.from({ length: 10_000 }, (_, k) => line(i + k)));
    await client.zadd("bull:diskpipe:failed", Date.now(), id);
  }

  before(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
    queue = await createQueue({ url: redis.url });
    await plantHostile("hostile-big");
  });
  after(async () => {
    await queue?.close();
    client?.disconnect();
    await redis?.stop();
  });

  it("a job's view reads none of its 50 MB fields and only the newest 500 of its 100,000 journal lines", async () => {
    const before = await sent();
    const view = await queue.job("hostile-big");
    const bytes = (await sent()) - before;
    assert.ok(bytes < 1024 * 1024, `Redis sent ${bytes} bytes for one view`);
    assert.equal(view?.state, "failed");
    assert.equal(view?.journal.length, LOG_LIMITS.lines);
    assert.equal(view?.journal.at(-1)?.worker, `w${LINES - 1}`, "the newest lines");
    assert.equal(view?.source, undefined, "the job's data was not read");
    assert.equal(view?.progress, undefined);
    assert.match(view?.error?.message ?? "", /^the reason was not read \(52428\d{3} bytes\)$/);
    assert.equal(view?.error?.code, "io-failed", "a code hidden in an unread reason is not taken");
    for (const field of ["data", "progress", "returnvalue", "failedReason"])
      assert.ok(
        view?.omitted?.some((what) => what.startsWith(`${field}: 52428`)),
        `${field} named as omitted: ${view?.omitted}`,
      );
    assert.ok(view?.omitted?.includes(`journal: the newest ${LOG_LIMITS.lines} of ${LINES} lines`));
  });

  it("the jobs' list reads each job within bounds (no journal at all)", async () => {
    const before = await sent();
    const views = await queue.list();
    const bytes = (await sent()) - before;
    assert.ok(bytes < 1024 * 1024, `Redis sent ${bytes} bytes for the list`);
    const hostile = views.find((view) => view.id === "hostile-big");
    assert.equal(hostile?.state, "failed");
    assert.deepEqual(hostile?.journal, []);
  });

  it("a progress message too long for a list's row is left out of the row, and shown on the job's own page", async () => {
    const progress = {
      worker: "w1",
      stage: "convert",
      timings: [],
      hooks: Array.from({ length: 200 }, (_, i) => ({ hook: "verify", plugin: `plugin-${i}`, ms: i })),
    };
    assert.ok(JSON.stringify(progress).length > LIST_FIELD_LIMITS.progress);
    await client.hset("bull:diskpipe:busy", {
      name: "convert",
      data: JSON.stringify({ v: 1, spec: { source: "/in/a.vmdk", destination: "/out/a.qcow2", to: "qcow2" } }),
      progress: JSON.stringify(progress),
      timestamp: "5",
    });
    await client.lpush("bull:diskpipe:active", "busy");
    const row = (await queue.list()).find((view) => view.id === "busy");
    assert.equal(row?.state, "active");
    assert.equal(row?.source, "/in/a.vmdk");
    assert.equal(row?.progress, undefined);
    assert.equal((await queue.job("busy"))?.progress?.hooks.length, 200);
  });

  it("waiting for it (submit --wait) ends with a one-line error of bounded length, not 50 MB", async () => {
    const before = await sent();
    const error = await queue.wait("hostile-big").then(
      () => assert.fail("a failed job resolved"),
      (failure: unknown) => failure,
    );
    assert.ok(isDiskpipeError(error));
    assert.ok(error.message.length < 200, error.message.slice(0, 300));
    assert.ok((await sent()) - before < 2 * 1024 * 1024);
  });

  it("a journal line longer than its bound is left out; the lines around it are kept", async () => {
    const id = "long-line";
    await client.hset(`bull:diskpipe:${id}`, { name: "convert", data: "{}", timestamp: "1", attemptsMade: "0" });
    await client.rpush(`bull:diskpipe:${id}:logs`, line(1), "y".repeat(LOG_LIMITS.lineBytes + 1), line(2));
    const found = await readJobBounded(client, "bull:diskpipe", id, { lines: 10 });
    assert.deepEqual(found?.logs, [line(1), line(2)]);
    assert.equal(found?.logCount, 3);
  });

  it("fields just within their bounds are read whole; one byte more is not read", async () => {
    const id = "at-bound";
    const within = JSON.stringify({ pad: "p".repeat(FIELD_LIMITS.data - 10) });
    assert.equal(within.length, FIELD_LIMITS.data);
    await client.hset(`bull:diskpipe:${id}`, {
      data: within,
      returnvalue: `"${"r".repeat(FIELD_LIMITS.returnvalue - 1)}"`,
      timestamp: "7",
    });
    const found = await readJobBounded(client, "bull:diskpipe", id, { lines: 0 });
    assert.equal((found?.job.data as { pad: string }).pad.length, FIELD_LIMITS.data - 10);
    assert.equal(found?.job.returnvalue, undefined);
    assert.deepEqual(found?.job.omitted, [`returnvalue: ${FIELD_LIMITS.returnvalue + 1} bytes`]);
    assert.equal(found?.job.timestamp, 7);
  });

  it("a key of another type where a job should be, or a journal that is not a list, reads as no job / no journal", async () => {
    await client.set("bull:diskpipe:not-a-hash", "x");
    assert.equal(await readJobBounded(client, "bull:diskpipe", "not-a-hash", { lines: 10 }), undefined);
    assert.equal(await queue.job("not-a-hash"), undefined);
    await client.hset("bull:diskpipe:odd-logs", { data: "not json", timestamp: "x" });
    await client.set("bull:diskpipe:odd-logs:logs", "x");
    const found = await readJobBounded(client, "bull:diskpipe", "odd-logs", { lines: 10 });
    assert.deepEqual(
      [found?.logs, found?.logCount, found?.job.data, found?.job.timestamp, found?.job.omitted],
      [[], 0, undefined, 0, ["data: not JSON"]],
    );
  });
});
