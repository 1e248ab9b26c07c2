/*
 * The states of a spool job (SpoolJobState) and what moves a job between them. Every change is a
 * journal entry, appended (fsynced) and then folded into the job table by applyEntry below, but
 * for two: `running` is folded in first and journaled after (an append that fails only warns), and
 * a failure that cannot be journaled yet shows at once (see failed).
 *
 *                claim             the pipeline starts it          the run succeeded
 *   incoming/ ─────────► queued ───────────────────────► running ───────────────────► done
 *                         │  ▲                             │  │
 *                         │  └── the spool stops under it ─┘  │
 *                         │                                   │
 *                         └─────► failed ◄── refused or failed┘
 *                                   │
 *                                   └── retry(id) ──► retried (the file is claimed as a new job)
 *
 * - claim (intake.ts): journals `queued` with the work and output names, then moves the file and
 *   its sidecar from incoming/<to>/ into work/.
 * - running (runner.ts): the pipeline's `queued` event, sent once its jobs limit lets the run
 *   begin; run = runs + 1.
 * - done (runner.ts): journaled, then the claimed file is removed from work/.
 * - failed (failures.ts): from queued (a claim whose move failed, an unusable name, an unknown or
 *   unwritable target, an output name already taken, not a regular file, a bad sidecar) or
 *   running (the pipeline failed). Journaled with its name in failed/, then the error file is
 *   written and the file and its sidecar moved there; what cannot be written yet is tried again
 *   with backoff while the job already shows failed.
 * - queued again (runner.ts): stop() aborted a queued or running job; it runs at the next start.
 * - retried (spool.ts, retry()): journaled, then the file goes back to incoming/<to>/.
 * `done` and `retried` are final.
 *
 * What a start does for each state the journal left a job in (recovery.ts), after removing the
 * temporary files interrupted writes left in done/ and failed/:
 * - done: removes the claimed file from work/ again (the crash came between journal and removal).
 * - failed: finishes the record: error file, file and sidecar into failed/ under the journaled
 *   name (a new one when that leaves no room for `.error.json`).
 * - retried: moves the file from failed/ back to incoming/<to>/ unless its name there is taken or a
 *   later failure was given the same name in failed/; once the file has left, its error file goes.
 * - queued or running: done (marked `recovered`) when its output is in done/ and the name was its
 *   own when it was claimed; otherwise the file is moved into work/ again if the claim never got it
 *   there, its output name is reserved, and the job runs again (it fails instead when its file is
 *   gone or its output name is too long).
 * - a job whose step throws is reported (DISKPIPE_SPOOL_RECOVERY); a queued or running one fails.
 */
import { join } from "node:path";
import type { JobEvent } from "../core/job.ts";
import type { JobFacts, JournalEntry } from "./journal.ts";
import type { SpoolLayout } from "./paths.ts";
import type { SpoolJob } from "./types.ts";

/**
 * Folds one journal entry into the job table (replay at start, and every live append).
 * Returns the job it touched, or undefined for an entry about an unknown job.
 *
 * @example
 * ```ts
 * declare const entries: JournalEntry[]; // from Journal.open
 * const jobs = new Map<string, SpoolJob>();
 * for (const entry of entries) applyEntry(jobs, entry, spoolLayout("/srv/spool"));
 * ```
 */
export function applyEntry(
  jobs: Map<string, SpoolJob>,
  entry: JournalEntry,
  layout: SpoolLayout,
): SpoolJob | undefined {
  let job = jobs.get(entry.id);
  if (entry.state === "queued" && entry.name !== undefined && entry.to !== undefined) {
    job = {
      id: entry.id,
      name: entry.name,
      to: entry.to,
      state: "queued",
      source: join(layout.work, entry.work ?? `${entry.id}--${entry.name}`),
      ...(entry.output && { output: join(layout.done, entry.output) }),
      hasSidecar: Boolean(entry.sidecar),
      claimedAt: entry.at,
      runs: 0,
      timings: [],
      hooks: [],
      warnings: [],
    };
    jobs.set(entry.id, job);
    return job;
  }
  if (!job) return undefined;
  job.state = entry.state;
  switch (entry.state) {
    case "queued":
      clearLive(job);
      break;
    case "running":
      job.runs = entry.run;
      job.startedAt = entry.at;
      if (entry.sidecar) job.sidecar = entry.sidecar;
      job.timings = [];
      job.hooks = [];
      job.warnings = [];
      delete job.inspection;
      break;
    case "done":
    case "failed":
      clearLive(job);
      job.finishedAt = entry.at;
      if (entry.inspection) job.inspection = entry.inspection;
      if (entry.timings) job.timings = entry.timings;
      if (entry.hooks) job.hooks = entry.hooks;
      if (entry.warnings) job.warnings = entry.warnings;
      if (entry.state === "done") {
        if (entry.result) job.result = entry.result;
        if (entry.recovered) job.recovered = true;
      } else {
        job.error = entry.error;
        if (entry.failed) job.failedPath = join(layout.failed, entry.failed);
      }
      break;
    case "retried":
      break;
  }
  return job;
}

/**
 * What a finished job's journal entry keeps of its run (inspection, timings, hooks, warnings).
 *
 * @example
 * ```ts
 * import { timestamp, type Journal } from "./journal.ts";
 * declare const journal: Journal, job: SpoolJob, result: JobResult;
 * await journal.append({ at: timestamp(), id: job.id, state: "done", result, ...factsOf(job) });
 * ```
 */
export function factsOf(job: SpoolJob): JobFacts {
  return {
    ...(job.inspection && { inspection: job.inspection }),
    timings: job.timings,
    hooks: job.hooks,
    warnings: job.warnings,
  };
}

function clearLive(job: SpoolJob): void {
  delete job.stage;
  delete job.percent;
}

/**
 * Folds a pipeline event into its job: stage, percentage, inspection, hook and stage timings,
 * warnings. Returns whether the change is progress only (worth throttling).
 *
 * @example
 * ```ts
 * const jobs = new Map<string, SpoolJob>();
 * pipeline.on((event) => { const job = jobs.get(event.jobId); if (job) applyPipelineEvent(job, event); });
 * ```
 */
export function applyPipelineEvent(job: SpoolJob, event: JobEvent): "progress" | "detail" {
  switch (event.type) {
    case "stage-start":
      job.stage = event.stage;
      delete job.percent;
      return "progress";
    case "progress":
      job.stage = event.stage;
      if (event.percent !== undefined) job.percent = Math.round(event.percent * 10) / 10;
      return "progress";
    case "stage-end":
      job.timings.push({ stage: event.stage, ms: event.ms });
      return "detail";
    case "hook":
      job.hooks.push({ hook: event.hook, plugin: event.plugin, ms: event.ms });
      return "detail";
    case "inspected":
      job.inspection = event.result;
      return "detail";
    case "warning":
      job.warnings.push(event.message);
      return "detail";
    default:
      return "detail";
  }
}
