import type { ResolvedConfig } from "./config.ts";
import { convertImage, openSink } from "./convert-image.ts";
import { toDiskpipeError } from "./errors.ts";
import type { FormatRegistry } from "./formats.ts";
import type { HookTimer, PluginHooksRunner } from "./hooks.ts";
import { isHttpUrl } from "./io/http.ts";
import type { Sink, SinkDriver, SourceDriver } from "./io/types.ts";
import type { RunningJob } from "./job-context.ts";
import type { JobEvent, JobResult } from "./job.ts";
import type { UnpackedAppliance } from "./plugin.ts";
import { redactLocation } from "./redact.ts";
import { runAppliance } from "./run-appliance.ts";
import { StageClock } from "./stage-clock.ts";
import { fetchJob, type Fetched } from "./stages/fetch.ts";
import { inspectJob } from "./stages/inspect.ts";
import type { InspectedImage } from "./stages/plan.ts";
import { resolveHandler } from "./stages/resolve.ts";
import { detectedContainer, isAppliance, isUnpacker, unpackImage } from "./stages/unpack.ts";

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
    const inspected = await inspectStages(job, fetched, parts, clock);
    let outcome: Omit<JobResult, "jobId" | "source" | "to" | "ms" | "timings" | "warnings">;
    if ("appliance" in inspected) {
      const run = await runAppliance(job, parts, clock, inspected.appliance);
      outcome = {
        destination: run.paths.dir,
        from: run.formats.join(","),
        virtualSize: run.outputs.reduce((sum, o) => sum + o.virtualSize, 0),
        outputSize: run.outputs.reduce((sum, o) => sum + o.size, 0),
        outputs: run.outputs.map((o, i) => ({ ...o, path: run.paths.disks[i] })),
        description: run.paths.description,
      };
    } else {
      const { inspection } = inspected;
      emit({ type: "inspected", jobId: job.id, result: inspection });
      const how = { commit: true, onSink: (opened: Sink) => (sink = opened), ...(sink && { opened: sink }) };
      const { written, contentHash } = await convertImage(job, parts, clock, inspected, how);
      outcome = {
        destination: redactLocation(job.spec.destination),
        from: inspection.format,
        virtualSize: inspection.virtualSize,
        outputSize: written.size ?? inspection.virtualSize,
        ...(contentHash && { contentHash }),
        ...(contentHash && job.spec.verify && { verified: true }),
      };
    }
    const result: JobResult = {
      jobId: job.id,
      source,
      to: job.spec.to,
      ...outcome,
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
 * An appliance's disks are inspected one by one as they are converted (runAppliance).
 */
async function inspectStages(
  job: RunningJob,
  fetched: Fetched,
  { formats }: JobParts,
  clock: StageClock,
): Promise<InspectedImage | { appliance: UnpackedAppliance }> {
  let image = (job.image = fetched.image);
  const claimed = job.handler;
  if (isUnpacker(claimed)) {
    const unpacked = await clock.run("unpack", () => unpackImage(job, claimed));
    if (isAppliance(unpacked)) return { appliance: unpacked };
    image = job.image = unpacked;
  }
  let inspection = await clock.run("inspect", () => inspectJob(job, image, formats, fetched.inspection));
  const container = detectedContainer(job, inspection, formats);
  if (container) {
    job.handler = container;
    const unpacked = await clock.run("unpack", () => unpackImage(job, container));
    if (isAppliance(unpacked)) return { appliance: unpacked };
    image = job.image = unpacked;
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
