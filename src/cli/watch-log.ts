import { relative } from "node:path";
import { escapeControl } from "../core/redact.ts";
import type { SpoolEvent } from "../spool/types.ts";

/**
 * What `diskpipe watch` prints of the spool's events: one line per queued, running, done or
 * failed job on stderr, or (with `json`) one JSON object per event on stdout.
 *
 * @example
 * ```ts
 * const spool = createSpool({ root, pipeline, onEvent: spoolLogger(root, false) });
 * ```
 */
export function spoolLogger(root: string, json: boolean): (event: SpoolEvent) => void {
  return ({ type, job }) => {
    if (type === "pipeline" || type === "progress") return;
    if (json) {
      const { id, name, to, state, output, error } = job;
      process.stdout.write(`${JSON.stringify({ event: type, id, name, to, state, output, error })}\n`);
      return;
    }
    const what = `${job.id} ${escapeControl(job.name)}`;
    if (type === "done") {
      const took = job.result ? ` (${(job.result.ms / 1000).toFixed(1)} s)` : job.recovered ? " (recovered after a restart)" : "";
      process.stderr.write(`done    ${what} -> ${job.output ? relative(root, job.output) : "?"}${took}\n`);
    } else if (type === "failed") {
      process.stderr.write(`failed  ${what}: ${job.error?.message} [${job.error?.code}]\n`);
    } else {
      process.stderr.write(`${type.padEnd(7)} ${what}${type === "queued" ? ` -> ${job.to}` : ""}\n`);
    }
  };
}
