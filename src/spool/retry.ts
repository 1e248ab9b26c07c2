import { mkdir } from "node:fs/promises";
import { basename, join, relative } from "node:path";
import { DiskpipeError } from "../core/errors.ts";
import { exists, moveIfPresent, moveNoClobber, removeIfPresent } from "./claim.ts";
import { fitsFailed, sidecarOf } from "./names.ts";
import { nameProblem, type SpoolLayout } from "./paths.ts";
import type { SpoolJob } from "./types.ts";

/**
 * A retry's move: the failed job's file in `failed/` and where it goes back to in `incoming/`.
 *
 * @example
 * ```ts
 * const move: RetryMove = { from: "/srv/spool/failed/disk.vmdk", to: "/srv/spool/incoming/qcow2/disk.vmdk" };
 * ```
 */
export interface RetryMove {
  from: string;
  to: string;
}

/**
 * Where a failed job's file goes back to: `incoming/<format>/<name>`, under the name it was
 * dropped with (the folder is created). Throws a usage error when the job cannot be retried
 * (not failed, its name unusable, the target taken) and io-failed when its file is gone.
 *
 * @example
 * ```ts
 * declare const job: SpoolJob; // a failed job
 * const { from, to } = await planRetry(job, spoolLayout("/srv/spool")); // to: "/srv/spool/incoming/qcow2/disk.vmdk"
 * await returnToIncoming(from, to);
 * ```
 */
export async function planRetry(job: SpoolJob, layout: SpoolLayout): Promise<RetryMove> {
  const from = job.failedPath;
  if (job.state !== "failed" || !from)
    throw new DiskpipeError("usage", `job ${job.id} is ${job.state}; only failed jobs can be retried`);
  const failed = relative(layout.root, from);
  if (!(await exists(from))) throw new DiskpipeError("io-failed", `${failed} is gone`);
  const problem = nameProblem(job.name);
  if (problem)
    throw new DiskpipeError(
      "usage",
      `${JSON.stringify(job.name)} cannot go back to incoming/${job.to}/: ${problem}; rename ${failed} and drop it again`,
    );
  const folder = join(layout.incoming, job.to);
  const target = join(folder, job.name);
  if (await exists(target)) throw new DiskpipeError("usage", `${relative(layout.root, target)} already exists`);
  await mkdir(folder, { recursive: true });
  return { from, to: target };
}

/**
 * Moves a failed job's file (and its sidecar) from `failedPath` in `failed/` back to `target`,
 * never over an existing file, then removes its error file. Each step is repeatable.
 *
 * @example
 * ```ts
 * await returnToIncoming("/srv/spool/failed/disk.vmdk", "/srv/spool/incoming/qcow2/disk.vmdk");
 * ```
 */
export async function returnToIncoming(failedPath: string, target: string): Promise<void> {
  const from = sidecarOf(failedPath);
  const to = sidecarOf(target);
  if (from && to) await moveIfPresent(from, to);
  await moveNoClobber(failedPath, target);
  if (fitsFailed(basename(failedPath))) await removeIfPresent(`${failedPath}.error.json`);
}
