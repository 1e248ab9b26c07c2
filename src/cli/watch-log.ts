import { relative } from "node:path";
import type { JobEvent } from "../core/job.ts";
import { escapeControl } from "../core/redact.ts";
import type { SpoolEvent } from "../spool/types.ts";
import { messages } from "./log.ts";

/**
 * What `diskpipe watch` prints of the spool's events: one line per queued, running, done or
 * failed job on stderr (with `--quiet` only the failed ones; with `--verbose` also each stage's
 * and hook's timing), or (with `json`) one JSON object per event on stdout.
 *
 * @example
 * ```ts
 * const root = "/srv/spool";
 * const spool = createSpool({ root, pipeline, onEvent: spoolLogger(root, false) });
 * ```
 */
export function spoolLogger(root: string, json: boolean): (event: SpoolEvent) => void {
  return (event) => {
    const { type, job } = event;
    if (type === "pipeline" && !json) return timing(event.event, `${job.id} ${escapeControl(job.name)}`);
    if (type === "pipeline" || type === "progress") return;
    if (json) {
      const { id, name, to, state, output, error } = job;
      process.stdout.write(`${JSON.stringify({ event: type, id, name, to, state, output, error })}\n`);
      return;
    }
    const what = `${job.id} ${escapeControl(job.name)}`;
    if (type === "done") {
      const took = job.result
        ? ` (${(job.result.ms / 1000).toFixed(1)} s)`
        : job.recovered
          ? " (recovered after a restart)"
          : "";
      messages.info(`done    ${what} -> ${job.output ? relative(root, job.output) : "?"}${took}`);
    } else if (type === "failed") {
      messages.error(`failed  ${what}: ${job.error?.message} [${job.error?.code}]`);
    } else {
      messages.info(`${type.padEnd(7)} ${what}${type === "queued" ? ` -> ${job.to}` : ""}`);
    }
  };
}

/** With `--verbose`: how long a job's stage or plugin hook took. */
function timing(event: JobEvent, what: string): void {
  if (event.type === "stage-end") messages.debug(`timing  ${what}: ${event.stage} took ${event.ms.toFixed(0)} ms`);
  else if (event.type === "hook")
    messages.debug(`timing  ${what}: ${event.hook} hook of ${event.plugin} took ${event.ms.toFixed(0)} ms`);
}
