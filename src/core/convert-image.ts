import { stat } from "node:fs/promises";
import { toDiskpipeError } from "./errors.ts";
import type { HookTimer } from "./hooks.ts";
import { explainNoSpace } from "./io/no-space.ts";
import type { Sink, SinkDriver } from "./io/types.ts";
import type { RunningJob } from "./job-context.ts";
import type { JobOutput } from "./context.ts";
import type { JobParts } from "./run-job.ts";
import type { StageClock } from "./stage-clock.ts";
import { runConvert } from "./stages/convert.ts";
import { assertContentHash, verifyOutput, wantsContentHash } from "./stages/content-check.ts";
import { buildPlan, checkSpace, type InspectedImage, type SpaceShare } from "./stages/plan.ts";

/**
 * What {@link convertImage} wrote: the output (committed or not, as asked), where and how big it is,
 * and the content hash when the job asked for one.
 *
 * @example
 * ```ts
 * declare const converted: Converted, job: RunningJob;
 * await converted.output.commit(job);
 * ```
 */
export interface Converted {
  output: Sink;
  written: JobOutput;
  contentHash?: string;
}

/**
 * How {@link convertImage} treats its output.
 *
 * @example
 * ```ts
 * const opened: Sink[] = [];
 * const how: ConvertHow = { commit: false, onSink: (sink) => opened.push(sink) };
 * ```
 */
export interface ConvertHow {
  /** Commit the output in the upload stage (else the caller commits it). */
  commit: boolean;
  /** Told the sink as soon as it is open: the caller aborts it if anything fails. */
  onSink: (sink: Sink) => void;
  /** A sink the fetch already writes into. */
  opened?: Sink;
  /** The space this output shares with others written at the same time (checked together). */
  space?: SpaceShare;
}

/**
 * The stages after the inspection, for one inspected image: verify → prepare → preConvert →
 * convert → postConvert → upload (its hooks, then the commit unless `how.commit` is false: an
 * appliance's disks are committed together once all are written).
 *
 * @example
 * ```ts
 * declare const job: RunningJob, parts: JobParts, clock: StageClock, inspected: InspectedImage;
 * let sink: Sink | undefined;
 * const { written } = await convertImage(job, parts, clock, inspected, { commit: true, onSink: (s) => (sink = s) });
 * ```
 */
export async function convertImage(
  job: RunningJob,
  parts: JobParts,
  clock: StageClock,
  { image, inspection }: InspectedImage,
  how: ConvertHow,
): Promise<Converted> {
  const { hooks, formats } = parts;
  const stage = clock.run.bind(clock);
  const timer: HookTimer = (hook, plugin, ms) => parts.emit({ type: "hook", jobId: job.id, hook, plugin, ms });
  await stage("verify", () => hooks.sequential("verify", [job], timer));
  const prepared = await stage("prepare", async () => {
    const output = how.opened ?? (await openSink(job, parts.sinks));
    how.onSink(output);
    return { output, plan: buildPlan(job, { image, inspection }, formats, parts.config, output.target) };
  });
  const { output } = prepared;
  const { target } = output;
  job.plan = prepared.plan;
  const { plan, needed } = await stage("preConvert", async () => {
    const transformed = await hooks.reduce("preConvert", prepared.plan, job, timer);
    return { plan: transformed, needed: await checkSpace(job, transformed, target, inspection.virtualSize, how.space) };
  });
  job.plan = plan;
  const contentHash = await stage("convert", () =>
    runConvert(job, plan, inspection.virtualSize, wantsContentHash(job)).catch(async (error: unknown) => {
      throw await explainNoSpace(error, target.path, needed, `the output (${job.spec.destination})`);
    }),
  ).finally(() => how.space?.release());
  if (contentHash) assertContentHash(job, contentHash);
  const written = {
    path: target.path,
    format: job.spec.to,
    size: target.blockDevice ? undefined : (await stat(target.path)).size,
  };
  job.output = written;
  await stage("postConvert", async () => {
    await hooks.sequential("postConvert", [job], timer);
    if (job.spec.verify && contentHash) await verifyOutput(job, plan, inspection.virtualSize, contentHash);
    job.contentHash = contentHash;
  });
  await stage("upload", async () => {
    await hooks.sequential("upload", [job], timer);
    if (how.commit) await output.commit(job);
  });
  return { output, written, ...(contentHash && { contentHash }) };
}

/**
 * Opens the sink that handles the job's destination.
 *
 * @example
 * ```ts
 * declare const job: RunningJob, sinks: SinkDriver[];
 * const sink = await openSink(job, sinks);
 * ```
 */
export async function openSink(job: RunningJob, sinks: SinkDriver[]): Promise<Sink> {
  const driver = sinks.find((s) => s.matches(job.spec.destination));
  if (!driver) throw toDiskpipeError(new Error(`no sink handles ${job.spec.destination}`), "usage");
  return driver.open(job.spec.destination, job);
}
