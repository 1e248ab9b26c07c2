import { resolve } from "node:path";
import { toDiskpipeError, UsageError, type DiskpipeError } from "../core/errors.ts";
import type { JobResult } from "../core/job.ts";
import { escapeControl, safeText } from "../core/redact.ts";
import { formatSize } from "../core/size.ts";
import type { QueueSpec } from "../queue/message.ts";
import type { DiskpipeQueue } from "../queue/queue.ts";
import { queueOptions } from "../queue/settings.ts";
import { batchSpecs } from "../scripting.ts";
import { batchExitCode, reportFailure } from "./fail.ts";
import { messages, setVerbosity, verbosityOf } from "./log.ts";
import type { JobFlags } from "./convert.ts";
import { openPipeline } from "./pipeline.ts";
import { progressReporter, reportMode } from "./report.ts";
import { isUrlLocation } from "../core/io/location.ts";

/**
 * Flags of `diskpipe submit`.
 *
 * @example
 * ```ts
 * const flags: SubmitFlags = { to: "qcow2", queue: "redis://queue:6379", wait: true };
 * ```
 */
export interface SubmitFlags extends JobFlags {
  queue?: string;
  id?: string;
  wait?: boolean;
}

/** A location as workers need it: URLs as given, paths made absolute (workers do not share this working directory). */
const absolute = (location: string) => (isUrlLocation(location) ? location : resolve(location));

/**
 * `diskpipe submit`: queues SRC DEST (or SRC... into --out-dir), prints each job id, and with
 * `--wait` follows the jobs as `convert` shows its own and returns their exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await runSubmit(["https://h/a.vmdk", "/shared/out/a.qcow2"], { to: "qcow2", queue: "redis://queue:6379" });
 * ```
 */
export async function runSubmit(sources: string[], flags: SubmitFlags): Promise<number> {
  const json = Boolean(flags.json);
  setVerbosity(verbosityOf(flags));
  const pipeline = await openPipeline(flags);
  const common: Omit<QueueSpec, "source" | "destination"> = {
    to: flags.to,
    ...(flags.from && { from: flags.from }),
    ...(flags.container && { container: flags.container }),
    ...(flags.maxSize && { maxSize: flags.maxSize }),
    ...(flags.checksum && { checksum: flags.checksum }),
    ...((flags.subformat || flags.compress) && {
      options: { ...(flags.subformat && { subformat: flags.subformat }), ...(flags.compress && { compress: true }) },
    }),
  };
  let specs: QueueSpec[];
  if (flags.outDir) {
    if (flags.checksum && sources.length > 1)
      throw new UsageError("--checksum applies to one source; submit the others separately");
    specs = batchSpecs(pipeline, sources, absolute(flags.outDir), { to: flags.to }).map(({ source, destination }) => ({
      ...common,
      source: absolute(source),
      destination,
    }));
  } else {
    if (sources.length !== 2) throw new UsageError("submit takes SRC DEST, or SRC... --out-dir DIR");
    specs = [{ ...common, source: absolute(sources[0] ?? ""), destination: absolute(sources[1] ?? "") }];
  }
  if (flags.id !== undefined && specs.length > 1)
    throw new UsageError("--id names one job: submit one SRC DEST with it");

  const { createQueue } = await import("../queue/queue.ts");
  const { messageFor } = await import("../queue/message.ts");
  specs.forEach(messageFor); // every spec is checked before the first is queued
  const queue = await createQueue(queueOptions(flags.queue, pipeline.config.queue));
  try {
    const jobs: Array<{ id: string; spec: QueueSpec }> = [];
    for (const spec of specs) {
      const { id, outcome } = await queue.submit(spec, flags.id === undefined ? {} : { id: flags.id });
      jobs.push({ id, spec });
      if (json && !flags.wait)
        process.stdout.write(
          `${JSON.stringify({ id, outcome, source: safeText(spec.source), destination: safeText(spec.destination) })}\n`,
        );
      else if (!json)
        process.stdout.write(
          `${id}${outcome === "added" ? "" : ` (${outcome === "exists" ? "already queued" : "failed before: retried"})`}\n`,
        );
    }
    return flags.wait ? await waitAll(queue, jobs, json, Boolean(flags.quiet)) : 0;
  } finally {
    await queue.close();
  }
}

/** Follows the jobs to their end with the progress display of `convert`; the exit code as `convert` gives it. */
async function waitAll(
  queue: DiskpipeQueue,
  jobs: Array<{ id: string; spec: QueueSpec }>,
  json: boolean,
  quiet: boolean,
): Promise<number> {
  const reporter = await progressReporter(reportMode(json, quiet), jobs.length);
  const failures: DiskpipeError[] = [];
  let done = 0;
  try {
    await Promise.all(
      jobs.map(async ({ id, spec }) => {
        reporter.onEvent({
          type: "queued",
          jobId: id,
          spec: { source: spec.source, destination: spec.destination, to: spec.to },
          at: Date.now(),
        });
        try {
          const result = await queue.wait(id, (event) => reporter.onEvent(event));
          done++;
          reporter.onEvent({ type: "done", jobId: id, result });
          reporter.above(() => printResult(id, result, json));
        } catch (error) {
          const failure = toDiskpipeError(error);
          failures.push(failure);
          reporter.onEvent({ type: "failed", jobId: id, error: failure.toJSON(), ms: 0 });
          reporter.above(() => reportFailure(failure, json));
        }
        reporter.afterResult();
      }),
    );
  } finally {
    reporter.stop();
  }
  if (jobs.length > 1 && !json) messages.info(`${done} converted, ${failures.length} failed`);
  return batchExitCode(failures);
}

function printResult(id: string, result: JobResult, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ ok: true, id, ...result })}\n`);
    return;
  }
  process.stdout.write(
    `converted ${escapeControl(result.source)} -> ${escapeControl(result.destination)} (${result.from} -> ${result.to}, ${formatSize(result.virtualSize)} virtual, ` +
      `${formatSize(result.outputSize)} written, job ${id})\n`,
  );
}
