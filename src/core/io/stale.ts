import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { processAlive } from "./process-alive.ts";
import { HOST_TAG } from "./temp.ts";

/**
 * Names of the per-process entries under a work root: `job-<pid>@<host>-…`, `fetch-…` and
 * `inspect-…` (`@<host>` missing in names made before it was added).
 */
const OWNED = /^(?:job|fetch|inspect)-(\d+)(?:@([0-9a-f]{8}))?-/;

/**
 * Removes the job and temporary-image folders (and inspection spools) a crashed run of this
 * host left under `workRoot`: those whose process is gone. Folders of live processes (this one included) are left alone, and nothing
 * outside `workRoot` is touched. Returns the names removed.
 *
 * @example
 * ```ts
 * const removed = await sweepStale("/var/tmp/diskpipe"); // ["job-4242-1a2b3c4d-Xy12zq"]
 * ```
 */
export async function sweepStale(
  workRoot: string,
  isAlive: (pid: number) => boolean = processAlive,
): Promise<string[]> {
  const names = await readdir(workRoot).catch(() => [] as string[]);
  const stale = names.filter((name) => {
    const owner = OWNED.exec(name);
    const pid = Number(owner?.[1] ?? Number.NaN);
    // A process of another host (a work directory on shared storage) is not ours to judge.
    if (owner?.[2] !== undefined && owner[2] !== HOST_TAG) return false;
    return Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && !isAlive(pid);
  });
  await Promise.all(
    stale.map((name) => rm(join(workRoot, name), { recursive: true, force: true }).catch(() => undefined)),
  );
  return stale;
}
