import type { Redis, RedisOptions } from "ioredis";
import { DiskpipeError } from "../core/errors.ts";
import { redactLocation } from "../core/redact.ts";
import { ioredis } from "./load.ts";

/** How long to wait for Redis at start before `queue-unavailable` (ms). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * A queue URL safe to print: its password (and user name) removed.
 *
 * @example
 * ```ts
 * queueLabel("redis://:s3cret@queue.internal:6379/0"); // "redis://queue.internal:6379/0"
 * ```
 */
export function queueLabel(url: string): string {
  return redactLocation(url);
}

/**
 * Checks a queue URL's form: `redis://` or `rediss://` (TLS), with a host. A bad URL is a
 * usage error that never quotes the password.
 *
 * @example
 * ```ts
 * checkQueueUrl("rediss://:pw@queue.internal:6380"); // ok
 * checkQueueUrl("http://queue"); // throws usage
 * ```
 */
export function checkQueueUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DiskpipeError(
      "usage",
      `the queue URL ${queueLabel(url)} is not a URL (expected redis://HOST:PORT or rediss://…)`,
    );
  }
  if (!["redis:", "rediss:"].includes(parsed.protocol) || !parsed.hostname) {
    throw new DiskpipeError("usage", `the queue URL ${queueLabel(url)} is not a redis:// or rediss:// URL with a host`);
  }
  return parsed;
}

/**
 * Connects to Redis and waits until it answers, at most `timeoutMs`; otherwise (nothing
 * listening, a wrong password, TLS refused) it fails with `queue-unavailable` and a message
 * that never holds the password. Once connected, the client reconnects by itself forever (a
 * restarted Redis), as BullMQ needs (`maxRetriesPerRequest: null`).
 *
 * @example
 * ```ts
 * const redis = await connectRedis("redis://127.0.0.1:6379", { timeoutMs: 5000 });
 * ```
 */
export async function connectRedis(url: string, options: { timeoutMs?: number; name?: string } = {}): Promise<Redis> {
  checkQueueUrl(url);
  const timeoutMs = options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const RedisClient = ioredis();
  const settings: RedisOptions = {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    lazyConnect: true,
    connectTimeout: Math.min(timeoutMs, 10_000),
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
    ...(options.name && { connectionName: options.name }),
  };
  const redis = new RedisClient(url, settings);
  let lastError: string | undefined;
  // An error listener keeps ioredis from printing errors itself (with the URL they may hold).
  redis.on("error", (error: Error) => (lastError = (error as NodeJS.ErrnoException).code ?? error.message));
  try {
    await answerWithin(
      redis.connect().then(() => redis.ping()),
      timeoutMs,
      () => new Error("timeout"),
    );
    return redis;
  } catch (error) {
    redis.disconnect();
    const why =
      lastError ??
      ((error as Error).message === "timeout"
        ? `no answer within ${(timeoutMs / 1000).toFixed(1)} s`
        : (error as Error).message);
    throw new DiskpipeError("queue-unavailable", `the queue at ${queueLabel(url)} is unavailable: ${why}`, {
      cause: error,
    });
  }
}

/**
 * Closes a connection: QUIT when Redis answers, else a plain disconnect.
 *
 * @example
 * ```ts
 * const redis = await connectRedis("redis://127.0.0.1:6379");
 * await closeRedis(redis);
 * ```
 */
export async function closeRedis(redis: Redis): Promise<void> {
  await redis.quit().catch(() => redis.disconnect());
}

/**
 * `work`, or a rejection with `timedOut()` once `ms` have passed without an answer: Redis
 * (or a restarting one) must never hang a command or a page.
 *
 * @example
 * ```ts
 * declare const redis: Redis;
 * await answerWithin(redis.ping(), 5000, () => new Error("Redis did not answer"));
 * ```
 */
export async function answerWithin<T>(work: Promise<T>, ms: number, timedOut: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(timedOut()), ms)));
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
