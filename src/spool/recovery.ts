import { readdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { DiskpipeError, toDiskpipeError } from "../core/errors.ts";
import { NAME_MAX } from "../core/io/file-name.ts";
import { HOST_TAG, isTempName, tempOwner } from "../core/io/temp.ts";
import { exists, moveIfPresent, removeClaimed, removeIfPresent } from "./claim.ts";
import type { Failures } from "./failures.ts";
import { timestamp, type JournalEntry } from "./journal.ts";
import { fits, fitsFailed, sidecarOf } from "./names.ts";
import type { OutputNames } from "./output-names.ts";
import type { SpoolLayout } from "./paths.ts";
import { returnToIncoming } from "./retry.ts";
import { applyEntry, factsOf } from "./state.ts";
import type { SpoolError, SpoolJob } from "./types.ts";
import { warnSpool } from "./warn.ts";

/**
 * What recovery needs of the spool.
 *
 * @example
 * ```ts
 * import { Journal } from "./journal.ts";
 * declare const host: RecoveryHost; // the spool's own rooms and callbacks
 * const { entries } = await Journal.open(host.layout.journal);
 * await recoverSpool(entries, host);
 * ```
 */
export interface RecoveryHost {
  readonly layout: SpoolLayout;
  /** The job table the journal is replayed into. */
  readonly jobs: Map<string, SpoolJob>;
  readonly outputs: OutputNames;
  readonly failures: Pick<Failures, "resume">;
  /** Journals `done` and removes the claimed file. */
  finishDone(job: SpoolJob, entry: JournalEntry): Promise<void>;
  /** Runs the job (or refuses its name). */
  start(job: SpoolJob): void;
  /** Records the job's failure in the background. */
  fail(job: SpoolJob, error: DiskpipeError): void;
  /** Runs `task` as the job's active work (the spool's idle() waits for it, its stop() aborts it). */
  track(job: SpoolJob, task: (signal: AbortSignal) => Promise<void>): void;
}

/**
 * A start's recovery: replays the journal's `entries` into the job table, removes temporary files
 * interrupted writes left, then finishes every job's step a crash or a stop left undone (see
 * {@link recoverJobs}). The state each job is found in, and what is done for it, is drawn in state.ts.
 *
 * @example
 * ```ts
 * import { Journal } from "./journal.ts";
 * declare const host: RecoveryHost;
 * const { entries } = await Journal.open(spoolLayout("/srv/spool").journal);
 * await recoverSpool(entries, host);
 * ```
 */
export async function recoverSpool(entries: readonly JournalEntry[], host: RecoveryHost): Promise<void> {
  for (const entry of entries) {
    // Stryker disable next-line ConditionalExpression: only a claim's (queued) entry has outputExisted; the state test narrows the type
    if (entry.state === "queued" && entry.outputExisted) host.outputs.markTaken(entry.id);
    applyEntry(host.jobs, entry, host.layout);
  }
  await removeTemporaryFiles(host.layout);
  await recoverJobs([...host.jobs.values()], host);
}

/**
 * Finishes every step the journal recorded but a crash or a stop left undone. A job whose step
 * fails does not stop the others: it is reported (warning `DISKPIPE_SPOOL_RECOVERY`), and a job
 * that was to run is failed with the reason instead.
 *
 * @example
 * ```ts
 * declare const host: RecoveryHost;
 * await recoverJobs([...host.jobs.values()], host);
 * ```
 */
export async function recoverJobs(jobs: SpoolJob[], host: RecoveryHost): Promise<void> {
  const superseded = supersededFailures(jobs);
  for (const job of jobs) {
    try {
      await recoverJob(job, superseded, host);
    } catch (error) {
      warnSpool(
        "DISKPIPE_SPOOL_RECOVERY",
        `cannot recover job ${job.id} ${JSON.stringify(job.name)} (${job.state})`,
        error,
      );
      if (job.state === "queued" || job.state === "running")
        host.fail(job, toDiskpipeError(error, "io-failed", { stage: "claim" }));
    }
  }
}

async function recoverJob(job: SpoolJob, superseded: ReadonlySet<SpoolJob>, host: RecoveryHost): Promise<void> {
  switch (job.state) {
    case "done":
      await removeClaimed(job.source);
      return;
    case "failed":
      if (job.failedPath && job.error) await completeFailure(job, job.error, host);
      return;
    case "retried":
      if (job.failedPath && !superseded.has(job)) await finishRetry(job, job.failedPath, host);
      return;
    default:
      await resume(job, host);
  }
}

/**
 * The jobs another job failed into the same name in `failed/` after (or at the same instant, when
 * the journal cannot tell whose file is there): a name is only given to a failure once the file
 * before it left, so such a job's retry was finished and what is there is not its file. One pass
 * over the jobs and one over each name's failures, however many failures a name has seen.
 */
function supersededFailures(jobs: readonly SpoolJob[]): Set<SpoolJob> {
  const byName = new Map<string, SpoolJob[]>();
  for (const job of jobs) {
    if (!job.failedPath) continue;
    const group = byName.get(job.failedPath);
    if (group) group.push(job);
    else byName.set(job.failedPath, [job]);
  }
  // Stryker disable next-line StringLiteral: failedPath is only ever set together with finishedAt (state.ts), so the fallback is never used
  const finished = (job: SpoolJob) => job.finishedAt ?? "";
  const superseded = new Set<SpoolJob>();
  for (const group of byName.values()) {
    const latest = group.reduce((at, job) => (finished(job) > at ? finished(job) : at), "");
    const atLatest = group.filter((job) => finished(job) === latest).length;
    for (const job of group) if (finished(job) < latest || atLatest > 1) superseded.add(job);
  }
  return superseded;
}

/** Finishes recording a journaled failure: one attempt now, the rest as the job's active task. */
async function completeFailure(job: SpoolJob, error: SpoolError, host: RecoveryHost): Promise<void> {
  const record = host.failures.resume(job, error);
  if (!(await record.attempt())) host.track(job, (signal) => record.untilDone(signal));
}

/** Moves a retried job's file back to `incoming/` unless another took its name there; once it is gone, removes its error file. */
async function finishRetry(job: SpoolJob, failedPath: string, host: RecoveryHost): Promise<void> {
  const target = join(host.layout.incoming, job.to, job.name);
  if (await exists(failedPath)) {
    if (!(await exists(target))) await returnToIncoming(failedPath, target);
  } else if (fitsFailed(basename(failedPath))) {
    await removeIfPresent(`${failedPath}.error.json`);
  }
}

/** A queued or running job: done if its output was committed, otherwise claimed (again) and run. */
async function resume(job: SpoolJob, host: RecoveryHost): Promise<void> {
  const output = job.output && basename(job.output);
  if (job.output && !host.outputs.wasTaken(job.id) && (await exists(job.output))) {
    // The output is renamed into done/ only after every hook succeeded: the run before the crash finished.
    await host.finishDone(job, { at: timestamp(), id: job.id, state: "done", recovered: true, ...factsOf(job) });
    return;
  }
  if (!(await exists(job.source))) {
    const dropped = join(host.layout.incoming, job.to, job.name);
    const moved = await moveIfPresent(dropped, job.source);
    const from = sidecarOf(dropped);
    const to = sidecarOf(job.source);
    if (job.hasSidecar && from && to) await moveIfPresent(from, to);
    if (!moved) {
      host.fail(
        job,
        new DiskpipeError("io-failed", `${job.name} disappeared from the spool before it was converted`, {
          stage: "claim",
        }),
      );
      return;
    }
  }
  if (output && !host.outputs.wasTaken(job.id)) {
    if (!fits(output)) {
      const message = `the output name done/${output} is longer than ${NAME_MAX} bytes (claimed by an older diskpipe); retry the job to convert it under a name that fits`;
      host.fail(job, new DiskpipeError("usage", message, { stage: "claim" }));
      return;
    }
    host.outputs.reserve(output, job.id);
  }
  host.start(job);
}

/**
 * Removes what interrupted writes left in `done/` (temporary outputs) and `failed/` (temporary
 * error files). The spool's lock is held, so none is in use; a name that cannot be removed is
 * reported (`DISKPIPE_SPOOL_CLEANUP`) and left.
 *
 * @example
 * ```ts
 * await removeTemporaryFiles(spoolLayout("/srv/spool"));
 * ```
 */
export async function removeTemporaryFiles(layout: SpoolLayout): Promise<void> {
  for (const folder of [layout.done, layout.failed]) {
    const names = await readdir(folder).catch(() => [] as string[]);
    // Outputs and failed files never start with "." (dropped hidden names are not claimed), so a
    // dropped name holding the marker is never taken for a temporary file. `.<name>.error.json.tmp`
    // is what versions before the marker left.
    // A temporary file another host's process made is not judged from here (shared storage).
    const ours = (name: string) => (tempOwner(name)?.host ?? HOST_TAG) === HOST_TAG;
    const temporary = names.filter(
      (name) =>
        name.startsWith(".") &&
        ((isTempName(name) && ours(name)) || (folder === layout.failed && name.endsWith(".error.json.tmp"))),
    );
    for (const name of temporary) {
      await removeIfPresent(join(folder, name)).catch((error: unknown) =>
        warnSpool("DISKPIPE_SPOOL_CLEANUP", `cannot remove ${name}`, error),
      );
    }
  }
}
