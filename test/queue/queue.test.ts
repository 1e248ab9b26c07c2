import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { createQueue, type DiskpipeQueue, type QueueEvent } from "../../src/queue/queue.ts";
import { redisMissing, startRedis, type TestRedis } from "../helpers/redis.ts";
import { waitFor } from "../helpers/wait.ts";

describe("createQueue's events, with forged events in a real redis-server's stream", { skip: redisMissing }, () => {
  let redis: TestRedis;
  let client: Redis;
  let queue: DiskpipeQueue;

  before(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
    queue = await createQueue({ url: redis.url });
  });
  after(async () => {
    await queue?.close();
    client?.disconnect();
    await redis?.stop();
  });

  it("a progress or completed event that is not JSON does not end the events: later ones still arrive", async () => {
    const seen: QueueEvent[] = [];
    const off = queue.events.on((event) => seen.push(event));
    try {
      // The first valid event proves the stream is followed; then the forged ones, then valid ones again.
      await waitFor(async () => {
        await client.xadd("bull:diskpipe:events", "*", "event", "waiting", "jobId", "before");
        return seen.some((event) => event.jobId === "before");
      }, "the first event");
      await client.xadd("bull:diskpipe:events", "*", "event", "progress", "jobId", "forged", "data", "{not json");
      await client.xadd("bull:diskpipe:events", "*", "event", "completed", "jobId", "forged", "returnvalue", "<html>");
      await waitFor(
        async () => {
          await client.xadd("bull:diskpipe:events", "*", "event", "waiting", "jobId", "after");
          return seen.some((event) => event.jobId === "after");
        },
        "an event after the forged ones",
        10_000,
      );
    } finally {
      off();
    }
  });
});
