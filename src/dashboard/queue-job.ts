import type { Problem } from "../core/errors.ts";
import type { InspectResult } from "../core/inspect/types.ts";
import type { JobResult, Stage } from "../core/job.ts";
import { safeText } from "../core/redact.ts";
import type { QueueJobView } from "../queue/job-view.ts";
import type { SpoolJobState } from "../spool/types.ts";
import type { DashboardJob } from "./source.ts";

const STATES: Record<QueueJobView["state"], SpoolJobState> = { waiting: "queued", delayed: "queued", unknown: "queued", active: "running", completed: "done", failed: "failed" };

const isNumber = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);
const text = (value: unknown, max = 4096): string | undefined => (typeof value === "string" ? safeText(value).slice(0, max) : undefined);
const list = (value: unknown, max = 1000): unknown[] => (Array.isArray(value) ? value.slice(0, max) : []);
const record = (value: unknown): Record<string, unknown> => (value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {});

function isoOf(ms: unknown): string | undefined {
  if (!isNumber(ms)) return undefined;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function timingsOf(value: unknown): Array<{ stage: Stage; ms: number }> {
  return list(value).flatMap((entry) => {
    const { stage, ms } = record(entry);
    const name = text(stage, 40);
    return name && isNumber(ms) ? [{ stage: name as Stage, ms }] : [];
  });
}

function hooksOf(value: unknown): Array<{ hook: string; plugin: string; ms: number }> {
  return list(value).flatMap((entry) => {
    const { hook, plugin, ms } = record(entry);
    const names = [text(hook, 100), text(plugin, 200)];
    return names[0] && names[1] && isNumber(ms) ? [{ hook: names[0], plugin: names[1], ms }] : [];
  });
}

function problemsOf(value: unknown): Problem[] {
  return list(value, 100).flatMap((entry) => {
    const { code, message } = record(entry);
    const fields = [text(code, 100), text(message)];
    return fields[0] && fields[1] !== undefined ? [{ code: fields[0], message: fields[1] } as Problem] : [];
  });
}

function inspectionOf(value: unknown): InspectResult | undefined {
  const r = record(value);
  const format = text(r.format, 40);
  if (!format || !isNumber(r.virtualSize) || !isNumber(r.actualSize) || typeof r.safe !== "boolean") return undefined;
  const variant = text(r.variant, 100);
  return {
    format,
    ...(variant && { variant }),
    virtualSize: r.virtualSize,
    actualSize: r.actualSize,
    safe: r.safe,
    problems: problemsOf(r.problems),
    matches: list(r.matches, 50).flatMap((m) => text(m, 40) ?? []),
    details: detailsOf(r.details),
  };
}

/** The inspector's details, printed as JSON on the page: kept only while small. */
function detailsOf(value: unknown): Record<string, unknown> {
  const json = JSON.stringify(record(value));
  return json.length <= 16_384 ? (JSON.parse(json) as Record<string, unknown>) : { omitted: `${json.length} bytes of details` };
}

function resultOf(value: unknown): JobResult | undefined {
  const r = record(value);
  if (!isNumber(r.outputSize) || !isNumber(r.ms)) return undefined;
  const hash = text(r.sourceHash, 200);
  return {
    jobId: text(r.jobId, 200) ?? "",
    source: text(r.source) ?? "",
    destination: text(r.destination) ?? "",
    from: text(r.from, 40) ?? "",
    to: text(r.to, 40) ?? "",
    virtualSize: isNumber(r.virtualSize) ? r.virtualSize : 0,
    outputSize: r.outputSize,
    ...(hash && { sourceHash: hash }),
    ms: r.ms,
    timings: timingsOf(r.timings),
    warnings: list(r.warnings, 100).flatMap((w) => text(w) ?? []),
  };
}

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
  const result = view.state === "completed" ? resultOf(view.result) : undefined;
  const inspection = inspectionOf(progress.inspection);
  const submitted = isoOf(view.submittedAt) ?? new Date(0).toISOString();
  const finished = isoOf(view.finishedAt);
  const started = [...view.journal].reverse().find((entry) => entry.event === "start")?.at;
  const source = text(view.source) ?? "";
  const worker = text(view.worker, 200);
  const stage = running ? text(progress.stage, 40) : undefined;
  const percent = running && isNumber(progress.percent) ? Math.min(100, Math.max(0, Math.round(progress.percent * 10) / 10)) : undefined;
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
