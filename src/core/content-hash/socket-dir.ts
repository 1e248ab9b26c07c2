import { lstat, mkdtemp, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { processAlive } from "../io/process-alive.ts";
import { HOST_TAG, OWNER_TAG } from "../io/temp.ts";

/** The longest path of a UNIX socket Linux accepts (sun_path holds 108 bytes with the final NUL). */
export const MAX_SOCKET_PATH = 107;

/** Where socket directories go when the work directory is too deep for a socket's path. */
const SHORT_ROOT = "/tmp";
/** `diskpipe-nbd-<pid>@<host>-…`: the directories {@link socketDir} makes under /tmp, named by their owner. */
const OWNED = /^diskpipe-nbd-(\d+)@([0-9a-f]{8})-/;

/**
 * A new private directory (mode 0700) for a UNIX socket named `name`: in `workDir`, unless the
 * socket's path would be too long there (a deep work root), then under /tmp, named after this
 * process (`diskpipe-nbd-<pid>@<host>-…`) so that a later run can remove it if this one is
 * killed ({@link sweepStaleSocketDirs}). The caller removes it.
 *
 * @example
 * ```ts
 * const dir = await socketDir("/var/tmp/diskpipe/job-1", "s"); // "/var/tmp/diskpipe/job-1/nbd-Xy12Ab"
 * ```
 */
export async function socketDir(workDir: string, name: string): Promise<string> {
  const dir = await mkdtemp(join(workDir, "nbd-"));
  if (Buffer.byteLength(join(dir, name)) <= MAX_SOCKET_PATH) return dir;
  await rm(dir, { recursive: true, force: true });
  return mkdtemp(join(SHORT_ROOT, `diskpipe-nbd-${OWNER_TAG}-`));
}

/**
 * Removes the socket directories under /tmp that a run of this host killed before it could
 * (SIGKILL, a crash) left there: those of this user whose process is gone. Returns their names.
 *
 * @example
 * ```ts
 * const removed = await sweepStaleSocketDirs(); // ["diskpipe-nbd-4242@3f2a9c1b-Xy12Ab"]
 * ```
 */
export async function sweepStaleSocketDirs(isAlive: (pid: number) => boolean = processAlive): Promise<string[]> {
  const names = await readdir(SHORT_ROOT).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const owner = OWNED.exec(name);
    const pid = Number(owner?.[1] ?? Number.NaN);
    if (owner?.[2] !== HOST_TAG || !(pid > 0) || pid === process.pid || isAlive(pid)) continue;
    const path = join(SHORT_ROOT, name);
    // Only a directory of diskpipe's own user: never another user's, nor a link someone made.
    const info = await lstat(path).catch(() => undefined);
    if (!info?.isDirectory() || info.uid !== process.geteuid?.()) continue;
    await rm(path, { recursive: true, force: true }).catch(() => undefined);
    removed.push(name);
  }
  return removed;
}
