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
 * for (const entry of entries) applyEntry(jobs, entry, layout);
 * ```
 */
export function applyEntry(jobs: Map<string, SpoolJob>, entry: JournalEntry, layout: SpoolLayout): SpoolJob | undefined {
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
