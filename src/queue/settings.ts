import { UsageError } from "../core/errors.ts";
import { queueLabel } from "./connection.ts";

/** The queue's name when none is configured. */
export const DEFAULT_QUEUE_NAME = "diskpipe";

/** The prefix of the queue's Redis keys when none is configured. */
export const DEFAULT_PREFIX = "bull";

/** Attempts of a job failing with a transport or I/O error, when none are configured. */
export const DEFAULT_ATTEMPTS = 3;

/** First pause before a retry (ms), doubled each time, when none is configured. */
export const DEFAULT_BACKOFF_MS = 5000;

/**
 * Where a queue is: what both {@link createQueue} and {@link createWorker} take.
 *
 * @example
 * ```ts
 * const settings: QueueSettings = { url: "rediss://:PASSWORD@queue.internal:6380", queueName: "imports" };
 * ```
 */
export interface QueueSettings {
  /** `redis://[:password@]host:port[/db]`, or `rediss://…` for TLS. */
  url: string;
  /** The queue's name (default "diskpipe"). */
  queueName?: string;
  /** The prefix of the queue's Redis keys (default "bull"). */
  prefix?: string;
  /** How long to wait for Redis before failing with `queue-unavailable`, in ms (default 10000). */
  connectTimeoutMs?: number;
}

/** The `queue` section of a configuration, as far as these settings read it. */
interface QueueConfig {
  url?: string;
  name?: string;
  prefix?: string;
  connectTimeoutMs?: number;
  attempts?: number;
  backoffMs?: number;
}

/**
 * The queue a command uses: `--queue URL`, else `DISKPIPE_QUEUE`, else the configuration's
 * `queue.url`; name, prefix and timeout from the configuration.
 *
 * @example
 * ```ts
 * declare const config: UserConfig;
 * queueSettings("redis://127.0.0.1:6379", config.queue, process.env); // { url: "redis://127.0.0.1:6379", … }
 * ```
 */
export function queueSettings(
  flag: string | undefined,
  config: QueueConfig | undefined,
  env: NodeJS.ProcessEnv = process.env,
): QueueSettings {
  const url = flag || env.DISKPIPE_QUEUE || config?.url;
  if (!url)
    throw new UsageError(
      "no queue: pass --queue redis://HOST:PORT, set DISKPIPE_QUEUE, or set queue.url in plugins.config.ts",
    );
  return {
    url,
    ...(config?.name && { queueName: config.name }),
    ...(config?.prefix && { prefix: config.prefix }),
    ...(config?.connectTimeoutMs && { connectTimeoutMs: config.connectTimeoutMs }),
  };
}

/**
 * {@link queueSettings} with the retry policy of the jobs a command submits (the
 * configuration's `queue.attempts` and `queue.backoffMs`): what `createQueue` takes.
 *
 * @example
 * ```ts
 * declare const config: UserConfig;
 * const queue = await createQueue(queueOptions(undefined, config.queue));
 * ```
 */
export function queueOptions(
  flag: string | undefined,
  config: QueueConfig | undefined,
  env: NodeJS.ProcessEnv = process.env,
): QueueSettings & { attempts?: number; backoffMs?: number } {
  return {
    ...queueSettings(flag, config, env),
    ...(config?.attempts && { attempts: config.attempts }),
    ...(config?.backoffMs !== undefined && { backoffMs: config.backoffMs }),
  };
}

/**
 * How messages name a queue: its name and its URL without the password.
 *
 * @example
 * ```ts
 * queueDescription({ url: "redis://:pw@q:6379" }); // "queue diskpipe at redis://q:6379"
 * ```
 */
export function queueDescription(settings: Pick<QueueSettings, "url" | "queueName">): string {
  return `queue ${settings.queueName ?? DEFAULT_QUEUE_NAME} at ${queueLabel(settings.url)}`;
}
