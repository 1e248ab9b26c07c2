import { lstat } from "node:fs/promises";
import { join } from "node:path";
import { DiskpipeError, toDiskpipeError } from "../core/errors.ts";
import type { FormatRegistry } from "../core/formats.ts";
import { syncPath } from "../core/io/durable.ts";
import { exists, moveIfPresent } from "./claim.ts";
import { timestamp, type JournalEntry } from "./journal.ts";
import { outputNameFor, sidecarOf, workNameFor } from "./names.ts";
import type { OutputNames } from "./output-names.ts";
import { nameProblem, newJobId, type SpoolLayout } from "./paths.ts";
import type { SpoolEvent, SpoolJob } from "./types.ts";

/**
 * What claiming a dropped file needs of the spool.
 *
 * @example
 * ```ts
 * declare const host: IntakeHost;
 * await claimFile("/srv/spool/incoming/qcow2/disk.vmdk", "qcow2", "disk.vmdk", host);
 * ```
 */
export interface IntakeHost {
  readonly layout: SpoolLayout;
  readonly formats: FormatRegistry;
  /** Output names in `done/` that claimed jobs will write. */
  readonly outputs: OutputNames;
  /** Whether the spool still claims files. */
  claiming(): boolean;
  /** Journals an entry and applies it. */
  record(entry: JournalEntry): Promise<SpoolJob | undefined>;
  emit(event: SpoolEvent): void;
  /** Records the job's failure in the background. */
  fail(job: SpoolJob, error: DiskpipeError): void;
  /** Runs the job (or refuses its name). */
  start(job: SpoolJob): void;
}

/**
 * Claims `incoming/<to>/<name>`: journals the claim with every name derived from it (work name,
 * output name; each fits a file name), then renames the file and its sidecar into `work/`. A
 * claim whose move fails becomes a failed job, never a job queued for ever.
 *
 * @example
 * ```ts
 * declare const host: IntakeHost;
 * await claimFile("/srv/spool/incoming/qcow2/disk.vmdk", "qcow2", "disk.vmdk", host);
 * ```
 */
export async function claimFile(path: string, to: string, name: string, host: IntakeHost): Promise<void> {
  if (!host.claiming() || !(await exists(path))) return;
  const folder = await lstat(join(host.layout.incoming, to)).catch(() => undefined);
  if (!folder?.isDirectory()) return;
  const id = newJobId();
  const { formats, outputs } = host;
  const output =
    formats.isWritable(to) && !nameProblem(name) ? outputNameFor(name, formats.extensionOf(to)) : undefined;
  const outputExisted =
    output !== undefined && (outputs.isReserved(output) || (await exists(join(host.layout.done, output))));
  const sidecar = sidecarOf(path);
  const hasSidecar = sidecar !== undefined && (await exists(sidecar));
  if (outputExisted) outputs.markTaken(id);
  else if (output) outputs.reserve(output, id);
  const entry: JournalEntry = {
    at: timestamp(),
    id,
    state: "queued",
    name,
    to,
    work: workNameFor(id, name),
    ...(output && { output }),
    outputExisted,
    sidecar: hasSidecar,
  };
  const job = await host.record(entry).catch((error: unknown) => {
    if (output) outputs.release(output, id);
    throw error;
  });
  if (!job) return;
  let moved = false;
  let failure: DiskpipeError | undefined;
  try {
    moved = await moveIfPresent(path, job.source);
    if (hasSidecar) await moveIfPresent(sidecar, `${job.source}.json`);
    await syncPath(host.layout.work);
  } catch (error) {
    failure = toDiskpipeError(error, "io-failed", { stage: "claim" });
  }
  host.emit({ type: "queued", job });
  if (!failure && !moved)
    failure = new DiskpipeError("io-failed", `${name} disappeared before it could be claimed`, { stage: "claim" });
  if (failure) host.fail(job, failure);
  else host.start(job);
}
