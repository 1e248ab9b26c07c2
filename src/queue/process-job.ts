import type { Job } from "bullmq";
import { dirname, resolve } from "node:path";
import { DiskpipeError, toDiskpipeError } from "../core/errors.ts";
import { sweepStale } from "../core/io/stale.ts";
import { sweepDeadTemps } from "../core/io/temp.ts";
import type { JobResult } from "../core/job.ts";
import type { Pipeline } from "../core/pipeline.ts";
import { checkAllowed, type AllowList } from "./allow.ts";
import { committedEarlier, type commitRecorder } from "./commit-record.ts";
import { failedReasonOf, RETRIED_CODES } from "./failure.ts";
import { journalOf, record } from "./journal.ts";
import { bullmq } from "./load.ts";
import { parseMessage, specOf } from "./message.ts";
import { NewestProgress, ProgressTracker } from "./progress.ts";
import { checkVisible } from "./visible.ts";
import { isUrlLocation } from "../core/io/location.ts";

/** What a worker runs its jobs with. */
export interface JobRunner {
  pipeline: Pipeline;
  recorder: ReturnType<typeof commitRecorder>;
  worker: string;
  allow: AllowList | undefined;
  /** The most attempts this worker gives a job, whatever the job's own options say. */
  attempts: number;
  /** How long a claim on a job lasts without renewal (ms): the commit holds it at least this long. */
  lockMs: number;
  /** A job's journal lines (BullMQ `Queue#getJobLogs`). */
  logsOf(jobId: string): Promise<string[]>;
  /** Whether the worker is stopping: an aborted job then goes back to the queue. */
  stopping(): boolean;
}

/**
 * Runs one queued job on this worker: validates the message (a malformed one fails the job
 * with `usage`, never the worker), checks it against the operator's allow-list and what this
 * worker can see, recognizes an output an earlier attempt committed, then runs the pipeline,
 * publishing stage and progress. Right before the commit it renews its lock on the job; a worker
 * that lost it (the job was taken over) commits nothing and leaves the job to its new owner. Transport and I/O failures are retried (BullMQ backoff), up
 * to the worker's attempts; any other failure ends the job. Stopping returns the job to the queue.
 *
 * @example
 * ```ts
 * import { Worker, type ConnectionOptions } from "bullmq";
 * declare const runner: JobRunner, connection: ConnectionOptions;
 * new Worker("diskpipe", (job, token, signal) => processJob(job, token, signal, runner), { connection });
 * ```
 */
export async function processJob(
  job: Job,
  token: string | undefined,
  signal: AbortSignal | undefined,
  runner: JobRunner,
): Promise<JobResult> {
  const { worker, pipeline } = runner;
  const { UnrecoverableError, WaitingError } = bullmq();
  const id = job.id ?? "";
  const attempt = job.attemptsMade + 1;
  await record(job, { worker, event: "start", attempt });
  const tracker = new ProgressTracker(worker);
  const progress = new NewestProgress((snapshot) => job.updateProgress(snapshot));
  progress.send(tracker.snapshot());
  const unsubscribe = pipeline.on((event) => {
    const snapshot = event.jobId === id ? tracker.update(event) : undefined;
    if (snapshot) progress.send(snapshot);
  });
  let fenced = false;
  const unwatch = runner.recorder.watch(id, async (output, result) => {
    fenced = !(await holdsLock(job, token, runner.lockMs));
    if (fenced)
      throw new DiskpipeError(
        "aborted",
        `worker ${worker} lost job ${id} to another worker before committing its output`,
        { stage: "queue" },
      );
    if (output) await record(job, { worker, event: "committing", output, result });
  });
  const controller = new AbortController();
  const onAbort = () =>
    controller.abort(
      new DiskpipeError(
        "aborted",
        runner.stopping() ? `worker ${worker} is stopping` : `worker ${worker} lost the job`,
      ),
    );
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const message = parseMessage(job.data);
    checkAllowed(message.spec.source, "source", runner.allow, worker);
    checkAllowed(message.spec.destination, "destination", runner.allow, worker);
    await checkVisible(message.spec, runner.allow, worker);
    const earlier = await committedEarlier(journalOf(await runner.logsOf(id)), message.spec.destination);
    if (earlier) {
      await record(job, { worker, event: "done", recovered: true });
      return earlier;
    }
    await sweepLeftovers(pipeline, message.spec.destination);
    const result = await pipeline.run(specOf(message, pipeline.config.maxSize, controller.signal), { id });
    await progress.flushed();
    await record(job, { worker, event: "done" });
    return result;
  } catch (error) {
    if (fenced) {
      // The job is another worker's now: nothing was committed, and its state is not ours to change.
      await record(job, { worker, event: "fenced" });
      throw new WaitingError();
    }
    if (signal?.aborted && runner.stopping()) {
      await record(job, { worker, event: "returned" });
      await job.moveToWait(token);
      throw new WaitingError();
    }
    const failure = toDiskpipeError(error);
    const allowed = Math.min(runner.attempts, job.opts.attempts ?? 1);
    const retry = RETRIED_CODES.includes(failure.code) && attempt < allowed;
    await progress.flushed();
    await record(job, { worker, event: "failed", code: failure.code, retry });
    throw retry ? new Error(failedReasonOf(failure)) : new UnrecoverableError(failedReasonOf(failure));
  } finally {
    signal?.removeEventListener("abort", onAbort);
    unsubscribe();
    unwatch();
  }
}

/**
 * Whether this worker still holds the job's lock, renewed for `lockMs` from now: the fence before
 * a commit. A worker that paused past its lock (stopped, swapped out, cut off from Redis) finds
 * another worker's token there and must not rename its output over the destination.
 */
async function holdsLock(job: Job, token: string | undefined, lockMs: number): Promise<boolean> {
  if (!token) return false;
  return (await job.extendLock(token, lockMs).catch(() => 0)) === 1;
}

/**
 * Removes what dead diskpipe processes of this host left in the job's way: temporary outputs
 * beside the destination and work folders (a worker killed mid-job, whose job this is now).
 */
async function sweepLeftovers(pipeline: Pipeline, destination: string): Promise<void> {
  if (!isUrlLocation(destination)) await sweepDeadTemps(dirname(resolve(destination)));
  await sweepStale(pipeline.workRoot);
}
