import { stat } from "node:fs/promises";
import type { ResolvedConfig } from "./config.ts";
import { toDiskpipeError } from "./errors.ts";
import type { FormatRegistry } from "./formats.ts";
import type { HookTimer, PluginHooksRunner } from "./hooks.ts";
import { isHttpUrl } from "./io/http.ts";
import { explainNoSpace } from "./io/no-space.ts";
import type { Sink, SinkDriver, SourceDriver } from "./io/types.ts";
import type { RunningJob } from "./job-context.ts";
import type { JobEvent, JobResult } from "./job.ts";
import { redactLocation } from "./redact.ts";
import { StageClock } from "./stage-clock.ts";
import { runConvert } from "./stages/convert.ts";
import { fetchJob, type Fetched } from "./stages/fetch.ts";
import { inspectJob } from "./stages/inspect.ts";
import { buildPlan, checkSpace, type InspectedImage } from "./stages/plan.ts";
import { resolveHandler } from "./stages/resolve.ts";
import { detectedContainer, isUnpacker, unpackImage } from "./stages/unpack.ts";

/** The parts of a pipeline a job runs with. */
export interface JobParts {
  config: ResolvedConfig;
  formats: FormatRegistry;
  sources: SourceDriver[];
  sinks: SinkDriver[];
  /** The hooks of the plugins that apply to this job. */
  hooks: PluginHooksRunner;
  emit: (event: JobEvent) => void;
}

/**
 * Runs one job through its stages: resolve → preFetch → fetch → (unpack) → inspect → verify →
 * prepare → preConvert → convert → postConvert → upload → cleanup. Every failure removes the
 * output and the job's temporary files and is reported as a `failed` event, then thrown.
 *
 * @example
 * ```ts
 * declare const job: RunningJob, parts: JobParts;
 * const result = await runJob(job, parts); // config, formats, sources, sinks, hooks, emit
 * ```
 */
export async function runJob(job: RunningJob, parts: JobParts): Promise<JobResult> {
  const { formats, hooks, emit } = parts;
  const { spec } = job;
  const started = performance.now();
  const source = redactLocation(spec.source);
  const { signal: _signal, options: _options, ...rest } = spec;
  emit({
    type: "queued",
    jobId: job.id,
    spec: { ...rest, source, destination: redactLocation(spec.destination) },
    at: Date.now(),
  });
  const clock = new StageClock(job, emit);
  const stage = clock.run.bind(clock);
  const timer: HookTimer = (hook, plugin, ms) => emit({ type: "hook", jobId: job.id, hook, plugin, ms });
  let sink: Sink | undefined;
  try {
    job.handler = await stage("resolve", () => resolveHandler(job.spec, formats));
    await stage("preFetch", () => hooks.sequential("preFetch", [job], timer));
    const fetched = await stage("fetch", async () => {
      if (streamsIntoOutput(job)) sink = await openSink(job, parts.sinks);
      return fetchJob(job, parts.sources, formats, directPath(sink));
    });
    const { image, inspection } = await inspectStages(job, fetched, parts, clock);
    emit({ type: "inspected", jobId: job.id, result: inspection });
    await stage("verify", () => hooks.sequential("verify", [job], timer));
    const prepared = await stage("prepare", async () => {
      const opened = sink ?? (await openSink(job, parts.sinks));
      sink = opened;
      return { output: opened, plan: buildPlan(job, { image, inspection }, formats, parts.config, opened.target) };
    });
    const { output } = prepared;
    const { target } = output;
    job.plan = prepared.plan;
    const { plan, needed } = await stage("preConvert", async () => {
      const transformed = await hooks.reduce("preConvert", prepared.plan, job, timer);
      return { plan: transformed, needed: await checkSpace(job, transformed, target, inspection.virtualSize) };
    });
    job.plan = plan;
    await stage("convert", () =>
      runConvert(job, plan, inspection.virtualSize).catch(async (error: unknown) => {
        throw await explainNoSpace(error, target.path, needed, `the output (${job.spec.destination})`);
      }),
    );
    const written = {
      path: target.path,
      format: job.spec.to,
      size: target.blockDevice ? undefined : (await stat(target.path)).size,
    };
    job.output = written;
    await stage("postConvert", () => hooks.sequential("postConvert", [job], timer));
    await stage("upload", async () => {
      await hooks.sequential("upload", [job], timer);
      await output.commit(job);
    });
    const result: JobResult = {
      jobId: job.id,
      source,
      destination: redactLocation(job.spec.destination),
      from: inspection.format,
      to: job.spec.to,
      virtualSize: inspection.virtualSize,
      outputSize: written.size ?? inspection.virtualSize,
      ...(job.sourceHash && { sourceHash: job.sourceHash }),
      ms: 0,
      timings: clock.timings,
      warnings: job.warnings,
    };
    await clock.cleanup();
    result.ms = performance.now() - started;
    emit({ type: "done", jobId: job.id, result });
    return result;
  } catch (error) {
    const failure = toDiskpipeError(error, "io-failed", { stage: job.stage });
    // A location quoted whole (a password with a space is not cut out by the URL pattern) is replaced by its redacted form.
    for (const location of [spec.source, job.spec.destination]) {
      if (redactLocation(location) !== location)
        failure.message = failure.message.replaceAll(location, redactLocation(location));
    }
    await sink?.abort().catch(() => {});
    await clock.cleanup();
    emit({ type: "failed", jobId: job.id, error: failure.toJSON(), ms: performance.now() - started });
    throw failure;
  }
}

/**
 * Fetch's image through its container, if any, and the inspector: a claimed container is
 * unpacked before the inspection, a detected one after it (then its content is inspected).
 */
async function inspectStages(
  job: RunningJob,
  fetched: Fetched,
  { formats }: JobParts,
  clock: StageClock,
): Promise<InspectedImage> {
  let image = (job.image = fetched.image);
  const claimed = job.handler;
  if (isUnpacker(claimed)) image = job.image = await clock.run("unpack", () => unpackImage(job, claimed));
  let inspection = await clock.run("inspect", () => inspectJob(job, image, formats, fetched.inspection));
  const container = detectedContainer(job, inspection, formats);
  if (container) {
    job.handler = container;
    image = job.image = await clock.run("unpack", () => unpackImage(job, container));
    inspection = await clock.run("inspect", () => inspectJob(job, image, formats));
  }
  job.inspection = inspection;
  return { image, inspection };
}

/**
 * Whether the source may be written straight into the output, so the sink opens before the
 * fetch: claimed raw, converted to raw, no container, from an HTTP(S) URL.
 */
function streamsIntoOutput(job: RunningJob): boolean {
  return job.spec.from === "raw" && job.spec.to === "raw" && !job.handler?.unpack && isHttpUrl(job.spec.source);
}

/** The output path a fetch may write into: a local file that is not a device and not staged. */
function directPath(sink: Sink | undefined): string | undefined {
  return sink && !sink.target.blockDevice && !sink.target.staged ? sink.target.path : undefined;
}

async function openSink(job: RunningJob, sinks: SinkDriver[]): Promise<Sink> {
  const driver = sinks.find((s) => s.matches(job.spec.destination));
  if (!driver) throw toDiskpipeError(new Error(`no sink handles ${job.spec.destination}`), "usage");
  return driver.open(job.spec.destination, job);
}
