import type { Stats } from "node:fs";
import { lstat } from "node:fs/promises";
import { dirname } from "node:path";

const STICKY = 0o1000;
const GROUP_OR_OTHER_WRITE = 0o022;

/** Users whose writes diskpipe trusts: the user it runs as and root. */
function trusted(uid: number): boolean {
  return uid === 0 || uid === process.geteuid?.();
}

/**
 * Why someone other than diskpipe's own user (or root) could change the file at `realPath`
 * from now on, or undefined when nobody else can: the file must belong to a trusted user and
 * be writable by neither group nor others, and the path to it must be out of others' reach
 * ({@link pathWriters}). `stats` are the opened file's own (fstat), `realPath` its path
 * without symbolic links.
 *
 * It cannot see a descriptor someone opened while the file was still writable to them: that
 * is why what it accepts is the operator's files, not files other users handed in.
 *
 * @example
 * ```ts
 * declare const handle: import("node:fs/promises").FileHandle;
 * const why = await otherWriters("/srv/images/disk.qcow2", await handle.stat());
 * if (why) console.log(`snapshotting: ${why}`);
 * ```
 */
export async function otherWriters(realPath: string, stats: Stats): Promise<string | undefined> {
  if (!trusted(stats.uid)) return `it belongs to uid ${stats.uid}`;
  if (stats.mode & GROUP_OR_OTHER_WRITE) return "its group or others may write it";
  return pathWriters(realPath, stats.uid);
}

/**
 * Why someone other than diskpipe's user or root could swap a name on the path to `realPath`,
 * or undefined when nobody can: every directory above it must belong to a trusted user and be
 * writable by neither group nor others, or be sticky (like /tmp) with the entry below it owned
 * by a trusted user. `entryUid` owns the last component.
 *
 * @example
 * ```ts
 * await pathWriters("/var/tmp/diskpipe", process.geteuid?.() ?? 0); // undefined: /var/tmp is sticky
 * ```
 */
export async function pathWriters(realPath: string, entryUid: number): Promise<string | undefined> {
  let below = entryUid;
  for (let dir = dirname(realPath); ; dir = dirname(dir)) {
    const info = await lstat(dir).catch(() => undefined);
    if (!info?.isDirectory()) return `${dir} cannot be checked`;
    if (!trusted(info.uid)) return `${dir} belongs to uid ${info.uid}`;
    const sharedButSticky = (info.mode & STICKY) !== 0 && trusted(below);
    if (info.mode & GROUP_OR_OTHER_WRITE && !sharedButSticky) return `others may rename entries of ${dir}`;
    below = info.uid;
    if (dir === dirname(dir)) return undefined;
  }
}
