import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Queue, Worker } from "bullmq";
import type { JobResult, JobSpec } from "../src/core/job.ts";
import type { Pipeline } from "../src/core/pipeline.ts";
import { commitRecorder } from "../src/queue/commit-record.ts";
import { connectRedis } from "../src/queue/connection.ts";
import { processJob } from "../src/queue/process-job.ts";
import { createQueue } from "../src/queue/queue.ts";

/** What {@link noopJobs} measured, in ms. */
export interface NoopTimes {
  /** Submitting every job, one `submit` after the other (validation, the id, a look-up and an add each). */
  submitMs: number;
  /** One worker running every job, from its start to the last completion (nothing else running). */
  workMs: number;
  /** Redis commands per job, submission and run (Redis's `total_commands_processed`, this run's share: the bench is alone on this Redis). */
  commandsPerJob: number;
  /** Redis CPU time per job, user and system, in ms (`used_cpu_user` + `used_cpu_sys`). */
  redisCpuMsPerJob: number;
}

/** Redis's command count and CPU seconds so far. */
async function redisUsage(redis: {
  info(section: string): Promise<string>;
}): Promise<{ commands: number; cpu: number }> {
  const text = (await redis.info("stats")) + (await redis.info("cpu"));
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(text)?.[1] ?? Number.NaN);
  return { commands: field("total_commands_processed"), cpu: field("used_cpu_user") + field("used_cpu_sys") };
}

const ORIGIN = "https://bench.invalid";

/**
 * Queue overhead alone: `count` jobs whose pipeline does nothing, through one worker running
 * the worker's own job code (message validation, allow-list, journal, progress, completion) on
 * BullMQ, concurrency 1. The jobs are all submitted first, then the worker starts. Bounded: it
 * gives up after `timeoutMs`.
 *
 * @example
 * ```ts
 * const { submitMs, workMs } = await noopJobs("redis://127.0.0.1:6379", 1000, "/var/tmp/b", 120_000);
 * ```
 */
export async function noopJobs(url: string, count: number, work: string, timeoutMs: number): Promise<NoopTimes> {
  const queueName = `bench-noop-${Date.now().toString(36)}`;
  const workRoot = join(work, "noop-work");
  await mkdir(workRoot, { recursive: true });
  const pipeline = {
    on: () => () => {},
    config: {},
    workRoot,
    run: async (spec: JobSpec, options: { id?: string }): Promise<JobResult> => ({
      jobId: options.id ?? "",
      source: spec.source,
      destination: spec.destination,
      from: "raw",
      to: spec.to,
      virtualSize: 0,
      outputSize: 0,
      ms: 0,
      timings: [],
      warnings: [],
    }),
  } as unknown as Pipeline;
  const queue = await createQueue({ url, queueName });
  const redis = await connectRedis(url, { name: "bench-noop" });
  const logs = new Queue(queueName, { connection: redis, prefix: "bull" });
  logs.on("error", () => {});
  const worker = new Worker(
    queueName,
    (job, token, signal) =>
      processJob(job, token, signal, {
        pipeline,
        recorder: commitRecorder(),
        worker: "bench-noop",
        allow: { sources: [ORIGIN], destinations: [ORIGIN] },
        attempts: 1,
        lockMs: 30_000,
        logsOf: async (id) => (await logs.getJobLogs(id)).logs,
        stopping: () => false,
      }),
    { connection: redis, prefix: "bull", concurrency: 1, autorun: false },
  );
  worker.on("error", () => {});
  try {
    const before = await redisUsage(redis);
    const submitted = performance.now();
    for (let i = 0; i < count; i++)
      await queue.submit({ source: `${ORIGIN}/in/${i}.raw`, destination: `${ORIGIN}/out/${i}.raw`, to: "raw" });
    const submitMs = performance.now() - submitted;
    const started = performance.now();
    void worker.run();
    for (const deadline = started + timeoutMs; ; await sleep(20)) {
      const counts = await queue.counts();
      if (counts.failed > 0) throw new Error(`${counts.failed} no-op jobs failed`);
      if (counts.completed >= count) break;
      if (performance.now() > deadline)
        throw new Error(`only ${counts.completed} of ${count} no-op jobs done within ${timeoutMs / 1000} s`);
    }
    const workMs = performance.now() - started;
    const usage = await redisUsage(redis);
    return {
      submitMs,
      workMs,
      commandsPerJob: (usage.commands - before.commands) / count,
      redisCpuMsPerJob: ((usage.cpu - before.cpu) * 1000) / count,
    };
  } finally {
    await worker.close();
    await logs.close();
    await queue.close();
    await redis.quit().catch(() => redis.disconnect());
  }
}
