import assert from "node:assert/strict";
import { after, before, describe, it, mock } from "node:test";
import { Redis } from "ioredis";
import { FIELD_LIMITS, LIST_FIELD_LIMITS, readJobBounded } from "../../src/queue/bounded-read.ts";
import { redisMissing, startRedis, type TestRedis } from "../helpers/redis.ts";

const KEY = "bull:bounds";
/** A JSON string value of exactly `bytes` bytes. */
const jsonOf = (bytes: number) => `"${"v".repeat(bytes - 2)}"`;

describe("readJobBounded: each bound exactly (real redis-server)", { skip: redisMissing }, () => {
  let redis: TestRedis;
  let client: Redis;

  before(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
  });
  after(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it("a list's row: progress and result of 8 KiB and a reason of 2 KiB are read; one byte more is not", async () => {
    const within = {
      progress: jsonOf(LIST_FIELD_LIMITS.progress),
      returnvalue: jsonOf(LIST_FIELD_LIMITS.returnvalue),
      failedReason: "r".repeat(LIST_FIELD_LIMITS.failedReason),
    };
    assert.deepEqual(
      [LIST_FIELD_LIMITS.progress, LIST_FIELD_LIMITS.returnvalue, LIST_FIELD_LIMITS.failedReason],
      [8192, 8192, 2048],
    );
    await client.hset(`${KEY}:within`, { ...within, timestamp: "1" });
    const read = await readJobBounded(client, KEY, "within", { lines: 0, limits: LIST_FIELD_LIMITS });
    assert.deepEqual(read?.job.omitted, []);
    assert.equal((read?.job.progress as string).length, 8190);
    assert.equal((read?.job.returnvalue as string).length, 8190);
    assert.equal(read?.job.failedReason, within.failedReason);
    await client.hset(`${KEY}:over`, {
      progress: jsonOf(8193),
      returnvalue: jsonOf(8193),
      failedReason: "r".repeat(2049),
      timestamp: "1",
    });
    const over = await readJobBounded(client, KEY, "over", { lines: 0, limits: LIST_FIELD_LIMITS });
    assert.deepEqual(over?.job.omitted, [
      "progress: 8193 bytes",
      "returnvalue: 8193 bytes",
      "failedReason: 2049 bytes",
    ]);
    assert.deepEqual(
      [over?.job.progress, over?.job.returnvalue, "failedReason" in (over?.job ?? {})],
      [undefined, undefined, false],
    );
    const alone = await readJobBounded(client, KEY, "over", { lines: 0 });
    assert.deepEqual(alone?.job.omitted, [], "on the job's own page (FIELD_LIMITS) all are read");
  });

  it("an absent field reads as absent (undefined, no key), not as null nor as omitted", async () => {
    await client.hset(`${KEY}:sparse`, { timestamp: "3" });
    const read = await readJobBounded(client, KEY, "sparse", { lines: 0 });
    assert.deepEqual(read?.job, {
      id: "sparse",
      data: undefined,
      progress: undefined,
      returnvalue: undefined,
      timestamp: 3,
      attemptsMade: 0,
      attemptsStarted: 0,
      omitted: [],
    });
    assert.deepEqual(Object.keys(read?.job ?? {}).sort(), [
      "attemptsMade",
      "attemptsStarted",
      "data",
      "id",
      "omitted",
      "progress",
      "returnvalue",
      "timestamp",
    ]);
  });

  it("looser limits than FIELD_LIMITS are not taken", async () => {
    await client.hset(`${KEY}:loose`, { failedReason: "r".repeat(FIELD_LIMITS.failedReason + 1) });
    const limits = { ...LIST_FIELD_LIMITS, failedReason: 1 << 30 };
    const read = await readJobBounded(client, KEY, "loose", { lines: 0, limits });
    assert.deepEqual(read?.job.omitted, [`failedReason: ${FIELD_LIMITS.failedReason + 1} bytes`]);
  });

  it("the newest `lines` journal lines, never more than asked nor fewer than none", async () => {
    const lines = Array.from({ length: 20 }, (_, i) => `line ${i}`);
    await client.hset(`${KEY}:journal`, { timestamp: "1" });
    await client.rpush(`${KEY}:journal:logs`, ...lines);
    const read = async (count: number) => readJobBounded(client, KEY, "journal", { lines: count });
    assert.deepEqual((await read(5))?.logs, lines.slice(15));
    assert.deepEqual((await read(1))?.logs, ["line 19"]);
    assert.deepEqual((await read(0))?.logs, []);
    assert.deepEqual((await read(-3))?.logs, []);
    assert.deepEqual((await read(Number.NaN))?.logs, []);
    assert.equal((await read(5))?.logCount, 20);
  });

  it("numbers: a finish time only when positive, times and attempts 0 unless finite", async () => {
    const read = async (id: string, fields: Record<string, string>) => {
      await client.hset(`${KEY}:${id}`, fields);
      const found = await readJobBounded(client, KEY, id, { lines: 0 });
      const { finishedOn, timestamp, attemptsMade, attemptsStarted } = found?.job ?? {};
      return { finishedOn, timestamp, attemptsMade, attemptsStarted, has: "finishedOn" in (found?.job ?? {}) };
    };
    assert.deepEqual(await read("n1", { finishedOn: "12", timestamp: "7", attemptsMade: "2", ats: "3" }), {
      finishedOn: 12,
      timestamp: 7,
      attemptsMade: 2,
      attemptsStarted: 3,
      has: true,
    });
    for (const finishedOn of ["0", "-5", "abc", "Infinity", "NaN"])
      assert.deepEqual(
        await read(`n-${finishedOn}`, { finishedOn, timestamp: "1e400", attemptsMade: "x", ats: "-Infinity" }),
        { finishedOn: undefined, timestamp: 0, attemptsMade: 0, attemptsStarted: 0, has: false },
        finishedOn,
      );
  });

  it("the script is defined once per client, not sent again with every read", async () => {
    const fresh = new Redis(redis.url);
    try {
      const define = mock.method(fresh, "defineCommand");
      await fresh.hset(`${KEY}:once`, { timestamp: "1" });
      await readJobBounded(fresh, KEY, "once", { lines: 0 });
      await readJobBounded(fresh, KEY, "once", { lines: 0 });
      assert.equal(define.mock.callCount(), 1);
    } finally {
      fresh.disconnect();
    }
  });
});
