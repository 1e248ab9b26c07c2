import type { Problem } from "../core/errors.ts";
import type { InspectResult } from "../core/inspect/types.ts";
import type { JobResult, Stage } from "../core/job.ts";
import { safeText } from "../core/redact.ts";
import type { QueueProgress } from "./progress.ts";

// Number.isFinite never coerces: it is false for anything but a finite number.
const isNumber = (value: unknown): value is number => Number.isFinite(value);

/**
 * What is escaped beyond a text's bound: only the start of a value is made safe (so the cost
 * depends on the bound, not on what a hostile writer stored), with this margin so that a URL
 * the bound cuts is still redacted whole (all but one whose user name and password alone are
 * longer than the margin, which no honest location has).
 */
const MARGIN = 1024;

/**
 * `value` safe to print (URLs redacted, control characters escaped), at most `max` characters,
 * in a time that depends on `max`, not on how long `value` is.
 *
 * @example
 * ```ts
 * boundedText("a\nb".repeat(10_000), 8); // "a\\nba\\nb"
 * ```
 */
export function boundedText(value: string, max = 4096): string {
  return safeText(value.slice(0, max + MARGIN)).slice(0, max);
}

const text = (value: unknown, max = 4096): string | undefined =>
  typeof value === "string" ? boundedText(value, max) : undefined;
const list = (value: unknown, max = 1000): unknown[] => (Array.isArray(value) ? value.slice(0, max) : []);
const record = (value: unknown): Record<string, unknown> =>
  value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

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
  return json.length <= 16_384
    ? (JSON.parse(json) as Record<string, unknown>)
    : { omitted: `${json.length} bytes of details` };
}

function progressOf(value: unknown): QueueProgress | undefined {
  const p = record(value);
  const worker = text(p.worker, 256);
  const stage = text(p.stage, 40);
  if (!worker || !stage || !Array.isArray(p.timings) || !Array.isArray(p.hooks)) return undefined;
  const inspection = inspectionOf(p.inspection);
  return {
    worker,
    stage: stage as Stage,
    ...(isNumber(p.bytes) && { bytes: p.bytes }),
    ...(isNumber(p.total) && { total: p.total }),
    ...(isNumber(p.percent) && { percent: p.percent }),
    ...(isNumber(p.rate) && { rate: p.rate }),
    timings: timingsOf(p.timings),
    hooks: hooksOf(p.hooks),
    ...(inspection && { inspection }),
  };
}

function resultOf(value: unknown): JobResult | undefined {
  const r = record(value);
  if (!isNumber(r.outputSize) || !isNumber(r.ms)) return undefined;
  const hash = text(r.sourceHash, 200);
  const content =
    typeof r.contentHash === "string" && /^blk-sha256:[0-9a-f]{64}$/.test(r.contentHash) ? r.contentHash : undefined;
  return {
    jobId: text(r.jobId, 200) ?? "",
    source: text(r.source) ?? "",
    destination: text(r.destination) ?? "",
    from: text(r.from, 40) ?? "",
    to: text(r.to, 40) ?? "",
    virtualSize: isNumber(r.virtualSize) ? r.virtualSize : 0,
    outputSize: r.outputSize,
    ...(hash && { sourceHash: hash }),
    ...(content && { contentHash: content }),
    ...(content && r.verified === true && { verified: true }),
    ms: r.ms,
    timings: timingsOf(r.timings),
    warnings: list(r.warnings, 100).flatMap((w) => text(w) ?? []),
  };
}

/**
 * Readers of values taken from Redis, which whoever can write the queue wrote: each checks its
 * value's type, bounds its size and makes its text safe to print, and answers undefined (or an
 * empty list) for anything else, so a hostile job reads as what it is and never as a result.
 *
 * @example
 * ```ts
 * import type { Job } from "bullmq";
 * declare const job: Job;
 * const result = fromRedis.result(job.returnvalue); // a JobResult, or undefined
 * ```
 */
export const fromRedis = {
  number: isNumber,
  text,
  list,
  record,
  iso: isoOf,
  timings: timingsOf,
  hooks: hooksOf,
  problems: problemsOf,
  inspection: inspectionOf,
  progress: progressOf,
  result: resultOf,
};
