import { rm } from "node:fs/promises";
import { basename } from "node:path";
import { appliancePaths, type AppliancePaths } from "./appliance-paths.ts";
import type { LocalImage } from "./context.ts";
import { convertImage, type ConvertHow } from "./convert-image.ts";
import { diskJob, disksAtOnce, SharedSpace, SummedProgress } from "./disk-jobs.ts";
import { ImageRejectedError, UsageError } from "./errors.ts";
import { writeDurably } from "./io/durable.ts";
import { SetAside } from "./io/set-aside.ts";
import type { Sink } from "./io/types.ts";
import type { RunningJob } from "./job-context.ts";
import type { ApplianceDisk, ApplianceOutput, UnpackedAppliance } from "./plugin.ts";
import type { JobParts } from "./run-job.ts";
import type { StageClock } from "./stage-clock.ts";
import { inspectJob } from "./stages/inspect.ts";

/**
 * What an appliance's run wrote: its paths and each disk's output.
 *
 * @example
 * ```ts
 * declare const run: ApplianceRun;
 * console.log(run.paths.description, run.outputs.map((o) => o.file));
 * ```
 */
export interface ApplianceRun {
  paths: AppliancePaths;
  outputs: ApplianceOutput[];
  /** The formats the disks were detected as, in order. */
  formats: string[];
}

/**
 * Converts each disk of an unpacked appliance as a job converts one image (inspection with
 * qemu-img's second opinion, hooks, plan, conversion, verification), in a view of the job
 * whose destination is that disk's output; one disk per core at once (see `disksAtOnce`),
 * their progress summed. A disk whose header disagrees with the capacity the appliance
 * declares is refused (`format-mismatch`). The outputs are committed together once every
 * disk is written, then the description is written beside them; on any failure the other
 * disks are stopped and none of the outputs is left.
 *
 * @example
 * ```ts
 * declare const job: RunningJob, parts: JobParts, clock: StageClock, appliance: UnpackedAppliance;
 * const run = await runAppliance(job, parts, clock, appliance);
 * ```
 */
export async function runAppliance(
  job: RunningJob,
  parts: JobParts,
  clock: StageClock,
  appliance: UnpackedAppliance,
): Promise<ApplianceRun> {
  const spec = job.spec;
  const count = appliance.disks.length;
  const paths = await clock.run("prepare", () => {
    if (spec.contentHash && count > 1)
      throw new UsageError(`--content-hash pins one disk, and ${spec.source} is an appliance of ${count} disks`);
    refuseUnclaimedDisks(job, parts, appliance);
    return appliancePaths({
      destination: spec.destination,
      source: spec.source,
      extension: parts.formats.extensionOf(spec.to),
      count,
      suffix: appliance.description.suffix,
      ...(spec.overwrite && { overwrite: true }),
    });
  });
  const sinks: Array<Sink | undefined> = [];
  // Stryker disable next-line ArrayDeclaration: a made-up first entry names no file, and rm with force passes over it
  const committed: string[] = [];
  // Stryker disable next-line ArrayDeclaration: every disk's run is set before the outputs are read (a failure never gets there)
  const converted: DiskRun[] = [];
  let replaced: SetAside | undefined;
  // A disk that fails stops the others at once: the job fails with its error.
  const failed = new AbortController();
  const signal = AbortSignal.any([job.signal, failed.signal]);
  const progress = new SummedProgress(job, count);
  const space = new SharedSpace();
  try {
    await eachAtOnce(count, disksAtOnce(count), failed, async (i) => {
      const disk = appliance.disks[i];
      const destination = paths.disks[i];
      // Stryker disable next-line ConditionalExpression,LogicalOperator: i < count, and the disks and their paths are count long
      if (!disk || destination === undefined) return;
      const view = diskJob(job, destination, signal, progress.of(i));
      converted[i] = await convertDisk(view, parts, clock, disk, i, {
        commit: false,
        onSink: (sink) => (sinks[i] = sink),
        space: space.of(i),
      });
    });
    const outputs = converted.map((run) => run.output);
    await clock.run("upload", async () => {
      // With --force, the files the outputs replace are kept aside until all are in place.
      if (spec.overwrite) replaced = await SetAside.of([...paths.disks, paths.description]);
      for (const [i, sink] of sinks.entries()) {
        // Stryker disable next-line OptionalChaining: every disk has its sink once all are converted
        await sink?.commit(job);
        // Stryker disable next-line StringLiteral: every disk has its path (the fallback is for the type checker)
        committed.push(paths.disks[i] ?? "");
      }
      const description = appliance.description.render(outputs);
      await writeDurably(paths.description, `${JSON.stringify(description, null, 2)}\n`);
    });
    await replaced?.discard();
    return { paths, outputs, formats: converted.map((run) => run.format) };
  } catch (error) {
    // Stryker disable next-line OptionalChaining: map passes over the holes of disks that had no sink yet
    await Promise.all(sinks.map((sink) => sink?.abort().catch(() => undefined)));
    // Stryker disable next-line ObjectLiteral,BooleanLiteral: a committed output is there to remove (force spares only one removed meanwhile)
    await Promise.all(committed.map((path) => rm(path, { force: true })));
    await replaced?.restore();
    throw error;
  }
}

/** One disk's conversion: its output as the description lists it, and the format it was detected as. */
interface DiskRun {
  output: ApplianceOutput;
  format: string;
}

/**
 * Inspects and converts disk `i` in its own view of the job (its destination set), as a job
 * converts one image, as `how` says (the appliance commits the outputs itself).
 */
async function convertDisk(
  job: RunningJob,
  parts: JobParts,
  clock: StageClock,
  disk: ApplianceDisk,
  i: number,
  how: ConvertHow,
): Promise<DiskRun> {
  // Stryker disable next-line BooleanLiteral: nothing reads a local image's temporary flag after the fetch
  const image: LocalImage = { path: disk.path, claimed: disk.format, temporary: !disk.region };
  // Stryker disable next-line ConditionalExpression: a region set to undefined is no region (every reader tests its value)
  if (disk.region) image.region = disk.region;
  job.image = image;
  const inspection = await clock.run("inspect", async () => {
    const result = await inspectJob(job, image, parts.formats);
    if (disk.capacity !== undefined && disk.capacity !== result.virtualSize) {
      const message = `disk ${i + 1} is declared as ${disk.capacity} bytes but its ${result.format} header says ${result.virtualSize}`;
      throw new ImageRejectedError(`${job.spec.source} rejected: ${message}`, [{ code: "format-mismatch", message }]);
    }
    return result;
  });
  job.inspection = inspection;
  parts.emit({ type: "inspected", jobId: job.id, result: inspection });
  const converted = await convertImage(job, parts, clock, { image, inspection }, how);
  return {
    format: inspection.format,
    output: {
      file: basename(job.spec.destination),
      format: job.spec.to,
      virtualSize: inspection.virtualSize,
      size: converted.written.size ?? inspection.virtualSize,
      ...(converted.contentHash && { contentHash: converted.contentHash }),
    },
  };
}

/**
 * Runs `work` for 0 … count-1, `width` at a time, in order. The first failure aborts `failed`
 * (the others stop), no further work starts, and it is thrown once all have ended.
 */
async function eachAtOnce(
  count: number,
  width: number,
  failed: AbortController,
  work: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let first: { error: unknown } | undefined;
  const worker = async () => {
    // Stryker disable next-line EqualityOperator: a work for i = count finds no disk and returns at once
    while (first === undefined && next < count) {
      const i = next++;
      try {
        await work(i);
      } catch (error) {
        first ??= { error };
        failed.abort();
      }
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  if (first) throw first.error;
}

/**
 * A claim (`--from`) that names what the appliance holds rather than the appliance itself must
 * hold for every disk, as the appliance declares it (each disk's bytes are then inspected
 * against that declaration): `format-mismatch` before anything is converted, otherwise.
 */
function refuseUnclaimedDisks(job: RunningJob, parts: JobParts, appliance: UnpackedAppliance): void {
  const { formats } = parts;
  const from = job.spec.from === undefined ? undefined : formats.canonicalName(job.spec.from);
  // Stryker disable next-line OptionalChaining: an appliance comes from its handler's unpack: the job has its handler
  if (from === undefined || from === job.handler?.name) return;
  // Stryker disable next-line OptionalChaining,ArrayDeclaration: --from names a known format (an unknown one is refused when the job resolves); a made-up accepted name is no disk's format
  const accepted = [from, ...(formats.get(from)?.accepts ?? []).map((name) => formats.canonicalName(name))];
  for (const [i, disk] of appliance.disks.entries()) {
    const format = formats.canonicalName(disk.format);
    if (accepted.includes(format)) continue;
    const message = `disk ${i + 1} is ${format} (as the appliance declares it), not ${from} as claimed`;
    // Stryker disable next-line ObjectLiteral: thrown within the prepare stage, whose clock gives an error without a stage that one
    throw new ImageRejectedError(`${job.spec.source} rejected: ${message}`, [{ code: "format-mismatch", message }], {
      stage: "prepare",
    });
  }
}
