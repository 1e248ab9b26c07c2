import { link, lstat, open, rename, rm, unlink, writeFile } from "node:fs/promises";
import { tempPathBeside } from "../core/io/temp.ts";
import { sidecarOf } from "./names.ts";
import type { SpoolError } from "./types.ts";

/**
 * Whether something is at `path`; any error (a name too long, no permission) counts as nothing.
 *
 * @example
 * ```ts
 * if (await exists("spool/done/disk.qcow2")) console.log("taken");
 * ```
 */
export function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Whether something is at `path`: false only when it is surely absent (ENOENT, ENOTDIR); any
 * other error is thrown, so a step that depends on the answer is tried again rather than skipped.
 *
 * @example
 * ```ts
 * if (await present(job.source)) await moveIfPresent(job.source, failedPath);
 * ```
 */
export async function present(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return false;
    throw error;
  }
}

/**
 * Moves a file, or does nothing when it is already gone (a step a restart may repeat).
 * Returns whether it moved.
 *
 * @example
 * ```ts
 * await moveIfPresent("spool/incoming/qcow2/disk.vmdk", "spool/work/m3x9k2ab-4f1c2e--disk.vmdk");
 * ```
 */
export async function moveIfPresent(from: string, to: string): Promise<boolean> {
  try {
    await rename(from, to);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}

/**
 * Moves a file to `to` only if nothing is there: a hard link (atomic, fails on an existing
 * name) then unlink; a check-then-rename where the file system has no hard links (anything at
 * `to`, a dangling symbolic link or a socket too, counts as taken).
 *
 * @example
 * ```ts
 * await moveNoClobber("incoming/qcow2/.disk.vmdk.1f2e.part", "incoming/qcow2/disk.vmdk"); // throws EEXIST if taken
 * ```
 */
export async function moveNoClobber(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EXDEV") throw error;
    if (await present(to)) throw Object.assign(new Error(`${to} exists`), { code: "EEXIST" });
    await rename(from, to);
    return;
  }
  await unlink(from);
}

/**
 * Fsyncs a directory so the renames in it survive a crash.
 *
 * @example
 * ```ts
 * await syncDir("/srv/spool/work");
 * ```
 */
export async function syncDir(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on directories; the rename still happened.
  } finally {
    await handle.close();
  }
}

/**
 * Writes `failed/<name>.error.json` atomically: a temporary name beside it that always fits
 * (see tempPathBeside), fsync, rename. The temporary file is removed when a step fails.
 *
 * @example
 * ```ts
 * await writeErrorFile("spool/failed/evil.qcow2.error.json", { code: "image-rejected", message: "…", at: new Date().toISOString() });
 * ```
 */
export async function writeErrorFile(path: string, error: SpoolError): Promise<void> {
  const temp = tempPathBeside(path);
  try {
    await writeFile(temp, `${JSON.stringify(error, null, 2)}\n`, { mode: 0o644, flag: "wx" });
    const handle = await open(temp, "r+");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (failure) {
    // Stryker disable next-line ObjectLiteral,BooleanLiteral: force only silences ENOENT, and every error of this clean-up is ignored anyway
    await rm(temp, { force: true }).catch(() => {});
    throw failure;
  }
}

/**
 * Removes a file; a missing one is fine.
 *
 * @example
 * ```ts
 * await removeIfPresent("spool/work/m3x9k2ab-4f1c2e--disk.vmdk");
 * ```
 */
export function removeIfPresent(path: string): Promise<void> {
  return rm(path, { force: true });
}

/**
 * Removes a claimed file from `work/` and its sidecar, if they are there.
 *
 * @example
 * ```ts
 * await removeClaimed("spool/work/m3x9k2ab-4f1c2e--disk.vmdk");
 * ```
 */
export async function removeClaimed(source: string): Promise<void> {
  await removeIfPresent(source);
  const sidecar = sidecarOf(source);
  if (sidecar) await removeIfPresent(sidecar);
}
