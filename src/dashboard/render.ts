import { Eta } from "eta";
import { relative } from "node:path";
import { formatSize } from "../core/size.ts";
import type { SpoolJob, SpoolJobState } from "../spool/types.ts";
import { DETAIL_SCRIPT, INDEX_SCRIPT } from "./views/client.ts";
import { DETAIL, DETAIL_PAGE } from "./views/detail.ts";
import { INDEX_PAGE } from "./views/index-page.ts";
import { LAYOUT } from "./views/layout.ts";
import { LOGIN_PAGE } from "./views/login.ts";
import { ROW } from "./views/row.ts";
import { STYLE } from "./views/style.ts";

/**
 * Jobs per state, as the counters show them.
 *
 * @example
 * ```ts
 * const counts: Counts = { queued: 1, running: 2, done: 10, failed: 0 };
 * ```
 */
export type Counts = Record<"queued" | "running" | "done" | "failed", number>;

/**
 * What a row shows of a job: paths relative to the spool, sizes and times for people.
 *
 * @example
 * ```ts
 * declare const job: SpoolJob;
 * const view: JobView = jobView(job, "/srv/spool");
 * ```
 */
export interface JobView {
  id: string;
  name: string;
  from: string;
  to: string;
  state: SpoolJobState;
  stage?: string;
  percent?: number;
  output?: string;
  outputSize?: string;
  error?: SpoolJob["error"];
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
 * Counts jobs per state.
 *
 * @example
 * ```ts
 * countJobs(spool.jobs()); // { queued: 1, running: 2, done: 10, failed: 1 }
 * ```
 */
export function countJobs(jobs: SpoolJob[]): Counts {
  const counts: Counts = { queued: 0, running: 0, done: 0, failed: 0 };
  for (const job of jobs) if (job.state in counts) counts[job.state as keyof Counts]++;
  return counts;
}

/**
 * The row model of a job; paths are shown relative to the spool root.
 *
 * @example
 * ```ts
 * declare const job: SpoolJob;
 * jobView(job, "/srv/spool").output; // "done/disk.qcow2"
 * ```
 */
export function jobView(job: SpoolJob, root: string): JobView {
  return {
    id: job.id,
    name: job.name,
    from: job.inspection?.format ?? job.result?.from ?? job.sidecar?.from ?? "?",
    to: job.to,
    state: job.state,
    ...(job.stage && { stage: job.stage }),
    ...(job.percent !== undefined && { percent: job.percent }),
    ...(job.output && { output: relative(root, job.output) }),
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
 * declare const job: SpoolJob;
 * const html = renderRow(job, spool.layout.root);
 * ```
 */
export function renderRow(job: SpoolJob, root: string): string {
  return eta.render("@row", jobView(job, root));
}

/**
 * What every page gets.
 *
 * @example
 * ```ts
 * import type { Context } from "hono";
 * declare const c: Context;
 * const page: PageContext = { nonce: c.get("secureHeadersNonce") ?? "", root: "/srv/spool" };
 * ```
 */
export interface PageContext {
  nonce: string;
  root: string;
}

/**
 * The jobs page.
 *
 * @example
 * ```ts
 * renderIndex({ nonce: "r4nd0m", root: spool.layout.root }, spool.jobs(), spool.targets(), "64 GiB");
 * ```
 */
export function renderIndex(page: PageContext, jobs: SpoolJob[], targets: string[], maxUpload: string): string {
  return eta.render("@index", {
    ...page,
    style: STYLE,
    script: INDEX_SCRIPT,
    counts: countJobs(jobs),
    rows: jobs.map((job) => jobView(job, page.root)),
    targets,
    maxUpload,
  });
}

function detailModel(job: SpoolJob, root: string) {
  const stageMax = Math.max(1, ...job.timings.map((t) => t.ms));
  const hookMax = Math.max(1, ...job.hooks.map((h) => h.ms));
  const details = job.inspection?.details;
  return {
    job,
    from: jobView(job, root).from,
    source: relative(root, job.source),
    output: job.output && relative(root, job.output),
    outputSize: job.result && formatSize(job.result.outputSize),
    failedPath: job.failedPath && relative(root, job.failedPath),
    canRetry: job.state === "failed" && Boolean(job.failedPath),
    virtualSize: job.inspection ? formatSize(job.inspection.virtualSize) : "unknown",
    inspection: job.inspection,
    inspectionVirtual: job.inspection && `${formatSize(job.inspection.virtualSize)} (${job.inspection.virtualSize} bytes)`,
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
 * declare const job: SpoolJob;
 * renderDetail({ nonce: "r4nd0m", root: spool.layout.root }, job, false);
 * ```
 */
export function renderDetail(page: PageContext, job: SpoolJob, fragment: boolean): string {
  const model = detailModel(job, page.root);
  if (fragment) return eta.render("@detail", model);
  return eta.render("@detail-page", { ...page, ...model, style: STYLE, script: DETAIL_SCRIPT });
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
  return eta.render("@login", { nonce, root: "", style: STYLE, failed });
}
