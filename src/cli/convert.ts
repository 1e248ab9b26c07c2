import { Option } from "commander";
import { mkdir } from "node:fs/promises";
import { constants } from "node:os";
import { basename } from "node:path";
import { DiskpipeError, UsageError } from "../core/errors.ts";
import type { JobResult, JobSpec } from "../core/job.ts";
import type { ConvertOption } from "../core/plugin.ts";
import { escapeControl, safeText } from "../core/redact.ts";
import { formatSize, parseSize } from "../core/size.ts";
import { parseContentHash } from "../core/content-hash/construction.ts";
import { batchSpecs } from "../scripting.ts";
import { batchExitCode, reportFailure } from "./fail.ts";
import { messages, setVerbosity, verbosityOf } from "./log.ts";
import { openPipeline, type GlobalOptions } from "./pipeline.ts";
import type { Pipeline } from "../core/pipeline.ts";
import { progressReporter, reportMode } from "./report.ts";
import { isUrlLocation } from "../core/io/location.ts";

/** Signals that stop a conversion cleanly: Ctrl-C, kill, and a closed terminal. */
const STOP_SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** The flags that say what a job asks, shared by `diskpipe convert` and `diskpipe submit`. */
export interface JobFlags extends GlobalOptions {
  to: string;
  from?: string;
  container?: string;
  outDir?: string;
  maxSize?: string;
  checksum?: string;
  subformat?: string;
  verify?: boolean;
  contentHash?: string;
  compress?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

/** Flags of `diskpipe convert`. */
export interface ConvertFlags extends JobFlags {
  force?: boolean;
}

/** `spec.options`: `--subformat`, `--compress` and the values of the flags the plugins added. */
function jobOptions(flags: ConvertFlags, added: readonly ConvertOption[]): Record<string, unknown> {
  const values = flags as unknown as Record<string, unknown>;
  const options: Record<string, unknown> = { subformat: flags.subformat, compress: flags.compress };
  for (const option of added) {
    const value = values[new Option(option.flags).attributeName()];
    options[option.key] = value === undefined || option.type !== "number" ? value : Number(value);
  }
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}

/**
 * `diskpipe convert`: one SRC DEST pair, or many SRC into --out-dir with bounded concurrency;
 * `added` are the flags the configured plugins add. Returns the exit code.
 *
 * @example
 * ```ts
 * await runConvert(["in.vmdk", "out.qcow2"], { to: "qcow2" });
 * ```
 */
export async function runConvert(
  sources: string[],
  flags: ConvertFlags,
  added: readonly ConvertOption[] = [],
): Promise<number> {
  const json = Boolean(flags.json);
  setVerbosity(verbosityOf(flags));
  const pipeline = await openPipeline(flags);
  const abort = new AbortController();
  const common: Omit<JobSpec, "source" | "destination"> = {
    to: flags.to,
    ...(flags.from && { from: flags.from }),
    ...(flags.container && { container: flags.container }),
    ...(flags.maxSize && { maxSize: parseSize(flags.maxSize) }),
    ...(flags.checksum && { checksum: flags.checksum }),
    ...(flags.verify && { verify: true }),
    ...(flags.contentHash && { contentHash: parseContentHash(flags.contentHash) }),
    ...(flags.force && { overwrite: true }),
    options: jobOptions(flags, added),
    signal: abort.signal,
  };
  let specs: JobSpec[];
  if (flags.outDir) {
    if ((flags.checksum || flags.contentHash) && sources.length > 1)
      throw new UsageError(
        `--${flags.checksum ? "checksum" : "content-hash"} applies to one source; convert the others separately`,
      );
    specs = await outDirSpecs(pipeline, sources, flags.outDir, common);
  } else {
    if (sources.length !== 2) throw new UsageError("convert takes SRC DEST, or SRC... --out-dir DIR");
    specs = [{ ...common, source: sources[0], destination: sources[1] }];
  }

  // The first SIGINT/SIGTERM/SIGHUP aborts the jobs, which remove what they wrote; a second quits at
  // once (qemu-img dies with diskpipe; the next run into the directory removes its file).
  // The listeners stay attached until the end, so execa's signal-exit does not re-raise the
  // signal and kill diskpipe before the cleanup.
  let received: NodeJS.Signals | undefined;
  const stop = (signal: NodeJS.Signals) => {
    if (received) process.exit(signalExitCode(signal));
    received = signal;
    abort.abort(new DiskpipeError("aborted", `interrupted by ${signal}`));
  };
  for (const name of STOP_SIGNALS) process.on(name, stop);
  const reporter = await progressReporter(reportMode(json, flags.quiet), specs.length);
  const unsubscribe = pipeline.on((event) => reporter.onEvent(event));
  const failures: DiskpipeError[] = [];
  let converted = 0;
  try {
    for await (const item of pipeline.batch(specs)) {
      if (item.error) {
        const { error } = item;
        failures.push(error);
        if (specs.length > 1 && !json) messages.error(`failed: ${safeText(item.spec.source)}`);
        reportFailure(error, json);
      } else {
        converted++;
        const { result } = item;
        reporter.above(() => printResult(result, json));
      }
      reporter.afterResult();
    }
  } finally {
    unsubscribe();
    reporter.stop();
    for (const name of STOP_SIGNALS) process.off(name, stop);
  }
  if (specs.length > 1 && !json) messages.info(`${converted} converted, ${failures.length} failed`);
  if (received) return signalExitCode(received);
  return batchExitCode(failures);
}

/** Specs for `--out-dir`, which may be a directory or a URL prefix (`http://host/put/`, `store://images/`). */
async function outDirSpecs(
  pipeline: Pipeline,
  sources: string[],
  outDir: string,
  common: Omit<JobSpec, "source" | "destination">,
): Promise<JobSpec[]> {
  if (!isUrlLocation(outDir)) {
    await mkdir(outDir, { recursive: true });
    return batchSpecs(pipeline, sources, outDir, common);
  }
  const base = outDir.endsWith("/") ? outDir : `${outDir}/`;
  return batchSpecs(pipeline, sources, ".", common).map((spec) => ({
    ...spec,
    destination: new URL(encodeURIComponent(basename(spec.destination)), base).toString(),
  }));
}

function printResult(result: JobResult, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ ok: true, ...result })}\n`);
    return;
  }
  const into = result.outputs
    ? `${result.outputs.map((o) => escapeControl(o.path)).join(", ")} and ${escapeControl(result.description ?? "")}`
    : escapeControl(result.destination);
  process.stdout.write(
    `converted ${escapeControl(result.source)} -> ${into} (${result.from} -> ${result.to}, ${formatSize(result.virtualSize)} virtual, ` +
      `${formatSize(result.outputSize)} written, ${(result.ms / 1000).toFixed(1)} s)` +
      (result.contentHash ? `, ${result.verified ? "verified " : ""}${result.contentHash}` : "") +
      "\n",
  );
}

/** The shell's exit code for a run ended by `signal`: 128 + its number (130 for SIGINT, 143 for SIGTERM). */
function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}
