import { Eta } from "eta";
import { formatSize } from "../core/size.ts";
import type { SpoolJobState } from "../spool/types.ts";
import { countJobs, type DashboardJob, type JobSource } from "./source.ts";
import { DETAIL_SCRIPT, INDEX_SCRIPT } from "./views/client.ts";
import { DETAIL, DETAIL_PAGE } from "./views/detail.ts";
import { INDEX_PAGE } from "./views/index-page.ts";
import { LAYOUT } from "./views/layout.ts";
import { LOGIN_PAGE } from "./views/login.ts";
import { ROW } from "./views/row.ts";
import { STYLE } from "./views/style.ts";

export type { Counts } from "./source.ts";

/**
 * What a row shows of a job: locations as the source shows them, sizes and times for people.
 *
 * @example
 * ```ts
 * declare const job: DashboardJob;
 * const view: JobView = jobView(job, "spool", (path) => path);
 * ```
 */
export interface JobView {
  id: string;
  name: string;
  from: string;
  to: string;
  state: SpoolJobState;
  kind: JobSource["kind"];
  stage?: string;
  percent?: number;
  worker?: string;
  retrying?: string;
  output?: string;
  outputSize?: string;
  error?: DashboardJob["error"];
  when: string;
}

const eta = new Eta({ autoEscape: true, autoTrim: false, cache: true });
eta.loadTemplate("@layout", LAYOUT);
eta.loadTemplate("@row", ROW);
eta.loadTemplate("@index", INDEX_PAGE);
eta.loadTemplate("@detail", DETAIL);
eta.loadTemplate("@detail-page", DETAIL_PAGE);
eta.loadTemplate("@login", LOGIN_PAGE);

function ms(value: number): string {
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(value < 10 ? 1 : 0)} ms`;
}

/**
 * The row model of a job.
 *
 * @example
 * ```ts
 * declare const job: DashboardJob;
 * jobView(job, "spool", (path) => path.replace("/srv/spool/", "")).output; // "done/disk.qcow2"
 * ```
 */
export function jobView(job: DashboardJob, kind: JobSource["kind"], show: (location: string) => string): JobView {
  return {
    id: job.id,
    name: job.name,
    from: job.inspection?.format ?? job.result?.from ?? job.sidecar?.from ?? "?",
    to: job.to,
    state: job.state,
    kind,
    ...(job.stage && { stage: job.stage }),
    ...(job.percent !== undefined && { percent: job.percent }),
    ...(job.worker && { worker: job.worker }),
    ...(job.retrying && { retrying: job.retrying }),
    ...(job.output && { output: show(job.output) }),
    ...(job.result && { outputSize: formatSize(job.result.outputSize) }),
    ...(job.error && { error: job.error }),
    when: (job.finishedAt ?? job.startedAt ?? job.claimedAt).replace("T", " ").slice(0, 19),
  };
}

/**
 * One job row as HTML (escaped), for the page and for live updates.
 *
 * @example
 * ```ts
 * declare const job: DashboardJob;
 * declare const source: JobSource;
 * const html = renderRow(job, source);
 * ```
 */
export function renderRow(job: DashboardJob, source: Pick<JobSource, "kind" | "show">): string {
  return eta.render("@row", jobView(job, source.kind, source.show));
}

/**
 * What every page gets: the CSP nonce and the source it shows.
 *
 * @example
 * ```ts
 * declare const source: JobSource;
 * const page: PageContext = { nonce: "r4nd0m", source };
 * ```
 */
export interface PageContext {
  nonce: string;
  source: JobSource;
}

/**
 * The jobs page.
 *
 * @example
 * ```ts
 * declare const jobs: DashboardJob[];
 * declare const source: JobSource;
 * renderIndex({ nonce: "r4nd0m", source }, jobs, "64 GiB");
 * ```
 */
export function renderIndex(page: PageContext, jobs: DashboardJob[], maxUpload: string): string {
  const { source } = page;
  return eta.render("@index", {
    nonce: page.nonce,
    label: source.label,
    kind: source.kind,
    style: STYLE,
    script: INDEX_SCRIPT,
    counts: countJobs(jobs),
    rows: jobs.map((job) => jobView(job, source.kind, source.show)),
    targets: source.uploads?.targets(),
    incoming: source.uploads?.incoming,
    maxUpload,
  });
}

function detailModel(job: DashboardJob, source: JobSource) {
  const stageMax = Math.max(1, ...job.timings.map((t) => t.ms));
  const hookMax = Math.max(1, ...job.hooks.map((h) => h.ms));
  const details = job.inspection?.details;
  return {
    job,
    kind: source.kind,
    from: jobView(job, source.kind, source.show).from,
    source: source.show(job.source),
    output: job.output && source.show(job.output),
    outputSize: job.result && formatSize(job.result.outputSize),
    failedPath: job.failedPath && source.show(job.failedPath),
    canRetry: job.state === "failed" && (source.kind === "queue" || Boolean(job.failedPath)),
    virtualSize: job.inspection ? formatSize(job.inspection.virtualSize) : "unknown",
    inspection: job.inspection,
    inspectionVirtual:
      job.inspection && `${formatSize(job.inspection.virtualSize)} (${job.inspection.virtualSize} bytes)`,
    inspectionActual: job.inspection && `${formatSize(job.inspection.actualSize)} (${job.inspection.actualSize} bytes)`,
    inspectionDetails: details && Object.keys(details).length ? JSON.stringify(details, null, 2) : undefined,
    sidecar: job.sidecar && JSON.stringify(job.sidecar, null, 2),
    sourceHash: job.result?.sourceHash,
    total: job.result && ms(job.result.ms),
    stages: job.timings.map((t) => ({ label: t.stage, ms: t.ms, time: ms(t.ms) })),
    stageMax,
    hooks: job.hooks.map((h) => ({ ...h, time: ms(h.ms) })),
    hookMax,
  };
}

/**
 * A job's detail page, or only its body (`fragment`) for live refreshes.
 *
 * @example
 * ```ts
 * declare const job: DashboardJob;
 * declare const source: JobSource;
 * renderDetail({ nonce: "r4nd0m", source }, job, false);
 * ```
 */
export function renderDetail(page: PageContext, job: DashboardJob, fragment: boolean): string {
  const model = detailModel(job, page.source);
  if (fragment) return eta.render("@detail", model);
  return eta.render("@detail-page", {
    nonce: page.nonce,
    label: page.source.label,
    ...model,
    style: STYLE,
    script: DETAIL_SCRIPT,
  });
}

/**
 * The login form.
 *
 * @example
 * ```ts
 * renderLogin("r4nd0m", false);
 * ```
 */
export function renderLogin(nonce: string, failed: boolean): string {
  return eta.render("@login", { nonce, label: "", style: STYLE, failed });
}
