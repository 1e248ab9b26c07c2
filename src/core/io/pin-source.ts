import { constants, type Stats } from "node:fs";
import { chmod, copyFile, open, realpath, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { DiskpipeError } from "../errors.ts";
import { NotRegularError, openRegular } from "./open-regular.ts";
import { otherWriters } from "./other-writers.ts";
import { copyRanges } from "./sparse-copy.ts";

/**
 * A local source made safe to inspect and hand to qemu-img: either the file itself (nobody
 * but diskpipe's user or root can change it, nor swap a name on its path) or a private
 * snapshot of it in the job's directory.
 *
 * @example
 * ```ts
 * const pinned: PinnedSource = { path: "/var/tmp/diskpipe/job-1-ab/source", snapshot: "copy", why: "it belongs to uid 1000" };
 * ```
 */
export interface PinnedSource {
  path: string;
  /** How the snapshot was made, when one was: a copy-on-write clone, or a (sparse) copy. */
  snapshot?: "reflink" | "copy";
  /** Why the file could not be used in place. */
  why?: string;
}

/**
 * Opens a local source once and decides what qemu-img will read. A file that someone other
 * than diskpipe's user (or root) could change during the job is copied, from the descriptor
 * opened here, into `directory` (a private directory of the job) as `source`: a reflink where
 * the file system clones (btrfs, XFS: no data copied), else a sparse copy of the size it had
 * when opened. The inspector and qemu-img then read that snapshot, so no later write to the
 * original, by path or through a descriptor held open, can change what was accepted. Block
 * devices are used in place: only the operator can name one. A missing, unreadable or
 * non-regular file (FIFO, character device, directory) is `fetch-failed`, at once.
 *
 * @example
 * ```ts
 * import type { RunningJob } from "../job-context.ts";
 * declare const job: RunningJob;
 * const pinned = await pinSource("incoming/disk.qcow2", job.workDir, { signal: job.signal });
 * ```
 */
export async function pinSource(
  location: string,
  directory: string,
  options: { signal?: AbortSignal; onProgress?: (bytes: number, total: number) => void } = {},
): Promise<PinnedSource> {
  const { handle, stats } = await openRegular(location, { blockDevice: true }).catch((error: unknown) => {
    throw openError(location, error);
  });
  try {
    if (stats.isBlockDevice()) return { path: await realpath(location) };
    const real = await realpath(location).catch(() => undefined);
    const identical = (s: Stats) => s.dev === stats.dev && s.ino === stats.ino;
    // Stryker disable next-line ArrowFunction: a failed stat giving undefined instead of false is the same falsy `same`
    const same = real !== undefined && (await stat(real).then(identical, () => false));
    const why = same ? await otherWriters(real, stats) : "its path changed while diskpipe opened it";
    if (real !== undefined && why === undefined) return { path: real };
    const snapshot = join(directory, "source");
    if (await cloned(handle.fd, snapshot)) return { path: snapshot, snapshot: "reflink", ...(why && { why }) };
    const output = await open(snapshot, "wx", 0o600);
    try {
      await copyRanges(handle, output, stats.size, options);
    } catch (error) {
      await rm(snapshot, { force: true });
      throw error;
    } finally {
      await output.close();
    }
    return { path: snapshot, snapshot: "copy", ...(why && { why }) };
  } finally {
    await handle.close();
  }
}

/** A copy-on-write clone of the open file, where the file system makes one (FICLONE); false otherwise. */
async function cloned(fd: number, destination: string): Promise<boolean> {
  try {
    // The descriptor's /proc link reopens the very file that was opened, whatever its path names now.
    await copyFile(`/proc/self/fd/${fd}`, destination, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE);
    await chmod(destination, 0o600);
    return true;
  } catch {
    await rm(destination, { force: true });
    return false;
  }
}

function openError(location: string, error: unknown): unknown {
  if (error instanceof NotRegularError)
    return new DiskpipeError(
      "fetch-failed",
      `source ${location} is not a regular file or block device (${error.kind})`,
    );
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== "ENOENT" && code !== "EACCES") return error;
  return new DiskpipeError(
    "fetch-failed",
    `cannot read source ${location}: ${code === "ENOENT" ? "no such file" : "permission denied"}`,
    { cause: error },
  );
}
