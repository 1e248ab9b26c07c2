import { createHash, randomBytes } from "node:crypto";
import { hostname, tmpdir } from "node:os";
import { readdir, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fitName } from "./file-name.ts";
import { processAlive } from "./process-alive.ts";

/** The marker in every temporary name diskpipe writes, so stale ones can be found and removed. */
export const TEMP_MARKER = ".diskpipe-tmp-";

/**
 * This machine in temporary names: 8 hex digits of its host name's hash (short, safe in a
 * file name, the same for every process on the host), so a sweep on shared storage only judges
 * the processes of its own host.
 *
 * @example
 * ```ts
 * HOST_TAG; // "3f2a9c1b"
 * ```
 */
export const HOST_TAG = createHash("sha256").update(hostname()).digest("hex").slice(0, 8);

/**
 * The part of a work-root entry's name that says whose it is: `<pid>@<host tag>`.
 *
 * @example
 * ```ts
 * `job-${OWNER_TAG}-…`; // "job-4242@3f2a9c1b-…"
 * ```
 */
export const OWNER_TAG = `${process.pid}@${HOST_TAG}`;

/**
 * The folder jobs and temporary images live in: `<workDir>/diskpipe`, or without a `workDir`
 * `diskpipe-<uid>` in the OS temp dir (one per user, so users of one machine never share it).
 *
 * @example
 * ```ts
 * workRootFor("/var/tmp"); // "/var/tmp/diskpipe"
 * workRootFor(undefined); // "/tmp/diskpipe-1000"
 * ```
 */
export function workRootFor(workDir: string | undefined): string {
  return workDir === undefined
    ? join(tmpdir(), `diskpipe-${process.geteuid?.() ?? "user"}`)
    : join(workDir, "diskpipe");
}

/**
 * A temporary name beside `destination`, in the same directory, so the final rename is atomic.
 * It carries this host and process (`.NAME.diskpipe-tmp-HOST-PID-RANDOM`), so a later run can
 * tell a dead run's leftover from a live one's work, and always fits one file name (a long
 * NAME is shortened).
 *
 * @example
 * ```ts
 * tempPathBeside("/srv/out.qcow2"); // "/srv/.out.qcow2.diskpipe-tmp-3f2a9c1b-4242-9c1bd2e0"
 * ```
 */
export function tempPathBeside(destination: string): string {
  const tail = `${TEMP_MARKER}${HOST_TAG}-${process.pid}-${randomBytes(4).toString("hex")}`;
  return join(dirname(destination), fitName(`.${basename(destination)}`, tail));
}

/**
 * Whether a file name was made by {@link tempPathBeside}.
 *
 * @example
 * ```ts
 * isTempName(".out.qcow2.diskpipe-tmp-3f2a9c1b-4242-9c1bd2e0"); // true
 * ```
 */
export function isTempName(name: string): boolean {
  return name.includes(TEMP_MARKER);
}

/**
 * The host tag and process id a temporary name carries; undefined for names made before
 * they carried them, or not by diskpipe.
 *
 * @example
 * ```ts
 * tempOwner(".out.qcow2.diskpipe-tmp-3f2a9c1b-4242-9c1bd2e0"); // { host: "3f2a9c1b", pid: 4242 }
 * ```
 */
export function tempOwner(name: string): { host: string; pid: number } | undefined {
  const match = /\.diskpipe-tmp-([0-9a-f]{8})-(\d{1,10})-[0-9a-f]{8}$/.exec(name);
  if (!match) return undefined;
  const pid = Number(match[2]);
  return Number.isSafeInteger(pid) && pid > 0 ? { host: match[1]!, pid } : undefined;
}

/**
 * Removes the temporary files a dead diskpipe process of this host left in `directory` (a
 * run killed with SIGKILL, a crashed machine): names made by {@link tempPathBeside} whose
 * process is gone. Other hosts' and live processes' files are left alone. Returns the names
 * removed.
 *
 * @example
 * ```ts
 * await sweepDeadTemps("/srv/out"); // [".disk.qcow2.diskpipe-tmp-3f2a9c1b-4242-9c1bd2e0"]
 * ```
 */
export async function sweepDeadTemps(
  directory: string,
  isAlive: (pid: number) => boolean = processAlive,
): Promise<string[]> {
  const names = await readdir(directory).catch(() => [] as string[]);
  const dead = names.filter((name) => {
    const owner = tempOwner(name);
    return owner !== undefined && owner.host === HOST_TAG && owner.pid !== process.pid && !isAlive(owner.pid);
  });
  await Promise.all(dead.map((name) => rm(join(directory, name), { force: true }).catch(() => undefined)));
  return dead;
}
