import type { Stage } from "../core/job.ts";
import type { QueueJobView } from "../queue/job-view.ts";
import { fromRedis } from "../queue/redis-values.ts";
import type { SpoolJobState } from "../spool/types.ts";
import type { DashboardJob } from "./source.ts";

const {
  number: isNumber,
  text,
  record,
  iso: isoOf,
  timings: timingsOf,
  hooks: hooksOf,
  problems: problemsOf,
  inspection: inspectionOf,
} = fromRedis;

const STATES: Record<QueueJobView["state"], SpoolJobState> = {
  waiting: "queued",
  delayed: "queued",
  unknown: "queued",
  active: "running",
  completed: "done",
  failed: "failed",
};

/** The last path segment of a location (a file name, or a URL's), for the jobs' list. */
function nameOf(location: string): string {
  const path = location.replace(/[?#].*$/, "").replace(/\/+$/, "");
  return path.slice(path.lastIndexOf("/") + 1) || location;
}

/**
 * A queued job as the dashboard shows it. What Redis holds was written by whoever can write the
 * queue: every field is checked for its type and made safe to print (a wrong one is left out),
 * so a hostile job shows as what it is and never breaks a page.
 *
 * @example
 * ```ts
 * declare const view: QueueJobView;
 * const job = dashboardJobOf(view);
 * console.log(job.state, job.worker);
 * ```
 */
export function dashboardJobOf(view: QueueJobView): DashboardJob {
  const progress = record(view.progress);
  const running = view.state === "active";
  const result = view.state === "completed" ? view.result : undefined;
  const inspection = inspectionOf(progress.inspection);
  const submitted = isoOf(view.submittedAt) ?? new Date(0).toISOString();
  const finished = isoOf(view.finishedAt);
  const started = [...view.journal].reverse().find((entry) => entry.event === "start")?.at;
  const source = text(view.source) ?? "";
  const worker = text(view.worker, 200);
  const stage = running ? text(progress.stage, 40) : undefined;
  const percent =
    running && isNumber(progress.percent)
      ? Math.min(100, Math.max(0, Math.round(progress.percent * 10) / 10))
      : undefined;
  const timings = timingsOf(progress.timings);
  const job: DashboardJob = {
    id: text(view.id, 200) ?? "",
    name: nameOf(source),
    to: text(view.to, 40) ?? "?",
    state: STATES[view.state] ?? "queued",
    source,
    ...(view.destination && { output: text(view.destination) }),
    hasSidecar: false,
    claimedAt: submitted,
    ...(text(started, 40) && { startedAt: text(started, 40) }),
    ...(finished && { finishedAt: finished }),
    runs: isNumber(view.attempts) ? view.attempts : 0,
    ...(stage && { stage: stage as Stage }),
    ...(percent !== undefined && { percent }),
    ...(inspection && { inspection }),
    timings: timings.length > 0 ? timings : (result?.timings ?? []),
    hooks: hooksOf(progress.hooks),
    warnings: result?.warnings ?? [],
    ...(result && { result }),
    ...(worker && { worker }),
    ...(view.state === "delayed" && view.error && { retrying: text(view.error.code, 40) ?? "io-failed" }),
    ...(view.journal.some((entry) => entry.event === "done" && entry.recovered) && { recovered: true }),
  };
  const omitted = fromRedis.list(view.omitted, 20).flatMap((what) => text(what, 200) ?? []);
  if (omitted.length > 0) job.omitted = omitted;
  if (view.state === "failed" && view.error) {
    const { code, message, stage: where, plugin, hook, problems } = view.error;
    job.error = {
      code: text(code, 40) ?? "io-failed",
      message: text(message) ?? "",
      ...(text(where, 40) && { stage: text(where, 40) }),
      ...(text(plugin, 200) && { plugin: text(plugin, 200) }),
      ...(text(hook, 100) && { hook: text(hook, 100) }),
      ...(problems && { problems: problemsOf(problems) }),
      at: finished ?? submitted,
    };
  }
  return job;
}
