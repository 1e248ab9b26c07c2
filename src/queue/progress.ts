import type { InspectResult } from "../core/inspect/types.ts";
import type { JobEvent, Stage } from "../core/job.ts";
import { fromRedis } from "./redis-values.ts";

/**
 * What a worker publishes about a running job (BullMQ `updateProgress`): who runs it, the
 * stage, how far the stage is, and the stage and hook timings so far. `submit --wait` and the
 * dashboard show it from any machine.
 *
 * @example
 * ```ts
 * const progress: QueueProgress = { worker: "w1", stage: "convert", bytes: 1 << 20, total: 1 << 21, percent: 50, timings: [], hooks: [] };
 * ```
 */
export interface QueueProgress {
  worker: string;
  stage: Stage;
  bytes?: number;
  total?: number;
  percent?: number;
  rate?: number;
  timings: Array<{ stage: Stage; ms: number }>;
  hooks: Array<{ hook: string; plugin: string; ms: number }>;
  /** The inspector's report, once the image was inspected. */
  inspection?: InspectResult;
}

/** The least time between two progress messages of one job within a stage (ms). */
const INTERVAL_MS = 500;

/**
 * Follows one job's pipeline events and says when to publish: at every stage start and end,
 * with the inspection report, and at most every 500 ms of progress (each message is a Redis write and an event).
 *
 * @example
 * ```ts
 * import type { Job } from "bullmq";
 * declare const job: Job;
 * const tracker = new ProgressTracker("w1");
 * pipeline.on((event) => { const p = tracker.update(event); if (p) void job.updateProgress(p); });
 * ```
 */
export class ProgressTracker {
  readonly #state: QueueProgress;
  #last = 0;

  constructor(worker: string) {
    this.#state = { worker, stage: "resolve", timings: [], hooks: [] };
  }

  /** The progress to publish after `event`, or undefined when nothing worth sending changed. */
  update(event: JobEvent): QueueProgress | undefined {
    const state = this.#state;
    const now = performance.now();
    switch (event.type) {
      case "stage-start":
        Object.assign(state, {
          stage: event.stage,
          bytes: undefined,
          total: undefined,
          percent: undefined,
          rate: undefined,
        });
        break;
      case "stage-end":
        state.timings.push({ stage: event.stage, ms: Math.round(event.ms) });
        break;
      case "inspected":
        state.inspection = event.result;
        break;
      case "hook":
        state.hooks.push({ hook: event.hook, plugin: event.plugin, ms: Math.round(event.ms) });
        return undefined;
      case "progress": {
        const finished = event.bytes >= (event.total ?? Infinity);
        if (!finished && now - this.#last < INTERVAL_MS) return undefined;
        Object.assign(state, {
          stage: event.stage,
          bytes: event.bytes,
          total: event.total,
          percent: event.percent,
          rate: event.rate,
        });
        break;
      }
      default:
        return undefined;
    }
    this.#last = now;
    return this.snapshot();
  }

  /** The progress as it stands, without undefined fields (what Redis stores). */
  snapshot(): QueueProgress {
    return JSON.parse(JSON.stringify(this.#state)) as QueueProgress;
  }
}

/**
 * The pipeline events a progress display needs, rebuilt from a worker's progress message:
 * a `stage-start` when the stage changed, then a `progress` when it carries bytes.
 *
 * @example
 * ```ts
 * declare const progress: QueueProgress; // a job's progress, as BullMQ hands it over
 * let stage: Stage | undefined;
 * for (const event of eventsOf("dp-1", progress, stage)) console.log(event.type);
 * stage = progress.stage;
 * ```
 */
export function eventsOf(jobId: string, progress: unknown, previousStage: Stage | undefined): JobEvent[] {
  if (!isProgress(progress)) return [];
  // Written by whoever can write the queue: the stage name is bounded and made safe to print, numbers must be numbers.
  const stage = (fromRedis.text(progress.stage, 40) ?? "") as Stage;
  const { number } = fromRedis;
  const events: JobEvent[] = [];
  if (stage !== previousStage) events.push({ type: "stage-start", jobId, stage, at: Date.now() });
  if (number(progress.bytes)) {
    events.push({
      type: "progress",
      jobId,
      stage,
      bytes: progress.bytes,
      ...(number(progress.total) && { total: progress.total }),
      ...(number(progress.percent) && { percent: progress.percent }),
      ...(number(progress.rate) && { rate: progress.rate }),
    });
  }
  return events;
}

/**
 * Whether a value looks like a {@link QueueProgress} (progress in Redis is written by
 * whoever can write the queue: only its shape is trusted, and text in it is escaped where shown).
 *
 * @example
 * ```ts
 * import type { Job } from "bullmq";
 * declare const job: Job;
 * if (isProgress(job.progress)) console.log(job.progress.stage);
 * ```
 */
export function isProgress(value: unknown): value is QueueProgress {
  if (!value || typeof value !== "object") return false;
  const progress = value as Partial<QueueProgress>;
  return (
    typeof progress.worker === "string" &&
    typeof progress.stage === "string" &&
    Array.isArray(progress.timings) &&
    Array.isArray(progress.hooks)
  );
}

/**
 * Writes a job's progress one message at a time, and only the newest: a message made while the
 * previous one is being written replaces any other still waiting. A burst (a stage's end, the
 * next stage's start and the inspection, all within a millisecond) then costs one Redis write
 * and one event instead of one each, and a slow Redis never builds a backlog. Progress is for
 * display only: nothing is lost but the messages that a newer one already contains.
 *
 * @example
 * ```ts
 * import type { Job } from "bullmq";
 * declare const job: Job, progress: QueueProgress;
 * const writer = new NewestProgress((p) => job.updateProgress(p));
 * writer.send(progress);
 * await writer.flushed(); // the newest message is in Redis (or its write failed)
 * ```
 */
export class NewestProgress {
  readonly #write: (progress: QueueProgress) => Promise<unknown>;
  #next: QueueProgress | undefined;
  #writing: Promise<void> | undefined;

  constructor(write: (progress: QueueProgress) => Promise<unknown>) {
    this.#write = write;
  }

  /** Queues `progress` for writing, replacing a message that is still waiting. */
  send(progress: QueueProgress): void {
    this.#next = progress;
    this.#writing ??= this.#drain();
  }

  /** Resolves once every message sent so far is written, or replaced by a newer one that is. */
  flushed(): Promise<void> {
    return this.#writing ?? Promise.resolve();
  }

  async #drain(): Promise<void> {
    for (let next = this.#next; next; next = this.#next) {
      this.#next = undefined;
      // A failed write (Redis restarting, the job removed) is not the job's failure: a later message says the same.
      await this.#write(next).catch(() => undefined);
    }
    this.#writing = undefined;
  }
}
