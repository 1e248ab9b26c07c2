import type { JobEvent, JobSpec, PublicSpec, Stage } from "../core/job.ts";
import { Listeners } from "../core/listeners.ts";
import type { JobExecutor } from "../spool/api.ts";
import { isProgress } from "./progress.ts";
import { fromRedis } from "./redis-values.ts";
import type { DiskpipeQueue } from "./queue.ts";

/**
 * Runs a spool's jobs on a shared queue's workers (`diskpipe watch SPOOL --queue URL`): each
 * claimed file becomes a queued job whose source is the claimed file in `work/` and whose
 * destination is its name in `done/` (so every worker must see the spool at the same path and
 * allow it), and the workers' progress comes back as the spool's pipeline events. A spool that
 * stops only stops waiting: the job goes on, and the next start waits for it again (the same
 * claimed file is the same job id).
 *
 * @example
 * ```ts
 * import { createQueue, createSpool, queueExecutor } from "diskpipe";
 * const queue = await createQueue({ url: "redis://queue.internal:6379" });
 * const watched = createSpool({ root: "/mnt/shared/spool", pipeline, executor: queueExecutor(queue) });
 * await watched.start();
 * ```
 */
export function queueExecutor(queue: DiskpipeQueue): JobExecutor {
  const listeners = new Listeners<JobEvent>();
  return {
    on: (listener) => listeners.on(listener),
    async run(spec, { id }) {
      const { signal, options, ...rest } = spec;
      signal?.throwIfAborted();
      const { id: queued } = await queue.submit({ ...pick(rest), ...(options && { options: { ...options } }) });
      const translate = new ProgressEvents(id, rest);
      const off = queue.events.on((event) => {
        if (event.jobId !== queued || event.type !== "progress") return;
        for (const e of translate.next(event.progress)) listeners.emit(e);
      });
      try {
        return await queue.wait(queued, undefined, signal ? { signal } : {});
      } finally {
        off();
      }
    },
  };
}

function pick(spec: Omit<JobSpec, "signal" | "options">) {
  const { source, destination, to, from, container, checksum, maxSize } = spec;
  return {
    source,
    destination,
    to,
    ...(from && { from }),
    ...(container && { container }),
    ...(checksum && { checksum }),
    ...(maxSize !== undefined && { maxSize }),
  };
}

/**
 * Turns a worker's successive progress messages into pipeline events: `queued` when an attempt
 * starts (the spool shows the job running), then what each message adds: stage ends, hooks,
 * the inspection, a new stage, progress.
 */
/** A finite number, or undefined. */
const finite = (value: unknown): number | undefined => (fromRedis.number(value) ? value : undefined);

class ProgressEvents {
  #last: Seen | undefined;

  constructor(
    readonly jobId: string,
    readonly spec: PublicSpec,
  ) {}

  next(message: unknown): JobEvent[] {
    if (!isProgress(message)) return [];
    // A progress message is written by whoever can write the queue: only well-typed parts pass,
    // each bounded (a stage name of 40 characters, 1000 timings and hooks).
    const progress: Seen = {
      stage: (fromRedis.text(message.stage, 40) ?? "") as Stage,
      timings: fromRedis.timings(message.timings),
      hooks: fromRedis.hooks(message.hooks),
      // Stryker disable next-line BooleanLiteral: set again below (progress.inspected = …) before anything reads it
      inspected: false,
    };
    const jobId = this.jobId;
    const events: JobEvent[] = [];
    let last = this.#last;
    if (!last || progress.timings.length < last.timings.length || progress.hooks.length < last.hooks.length) {
      events.push({ type: "queued", jobId, spec: this.spec, at: Date.now() });
      last = undefined;
    }
    for (const { stage, ms } of progress.timings.slice(last?.timings.length ?? 0))
      events.push({ type: "stage-end", jobId, stage, ms });
    for (const { hook, plugin, ms } of progress.hooks.slice(last?.hooks.length ?? 0))
      events.push({ type: "hook", jobId, hook, plugin, ms });
    const inspection = last?.inspected ? undefined : fromRedis.inspection(message.inspection);
    if (inspection) events.push({ type: "inspected", jobId, result: inspection });
    progress.inspected = Boolean(last?.inspected || inspection);
    if (progress.stage !== last?.stage)
      events.push({ type: "stage-start", jobId, stage: progress.stage, at: Date.now() });
    const bytes = finite(message.bytes);
    if (bytes !== undefined) {
      const [total, percent, rate] = [finite(message.total), finite(message.percent), finite(message.rate)];
      events.push({
        type: "progress",
        jobId,
        stage: progress.stage,
        bytes,
        ...(total !== undefined && { total }),
        ...(percent !== undefined && { percent }),
        ...(rate !== undefined && { rate }),
      });
    }
    this.#last = progress;
    return events;
  }
}

/** What a job's last progress message said, as far as it passed the readers. */
interface Seen {
  stage: Stage;
  timings: Array<{ stage: Stage; ms: number }>;
  hooks: Array<{ hook: string; plugin: string; ms: number }>;
  inspected: boolean;
}
