import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { processAlive } from "./process-alive.ts";

/** Names of the per-process folders under a work root: `job-<pid>-…` and `fetch-<pid>-…`. */
const OWNED = /^(?:job|fetch)-(\d+)-/;

/**
 * Removes the job and temporary-image folders a crashed run left under `workRoot`: those whose
 * process is gone. Folders of live processes (this one included) are left alone, and nothing
 * outside `workRoot` is touched. Returns the names removed.
 *
 * @example
 * ```ts
 * const removed = await sweepStale("/var/tmp/diskpipe"); // ["job-4242-1a2b3c4d-Xy12zq"]
 * ```
 */
export async function sweepStale(workRoot: string, isAlive: (pid: number) => boolean = processAlive): Promise<string[]> {
  const names = await readdir(workRoot).catch(() => [] as string[]);
  const stale = names.filter((name) => {
    const pid = Number(OWNED.exec(name)?.[1] ?? Number.NaN);
    return Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && !isAlive(pid);
  });
  await Promise.all(stale.map((name) => rm(join(workRoot, name), { recursive: true, force: true }).catch(() => undefined)));
  return stale;
}
