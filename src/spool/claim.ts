import { link, open, rename, rm, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { SpoolError } from "./types.ts";

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
 * name) then unlink; a check-then-rename where the file system has no hard links.
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
    const taken = await open(to, "r").then(
      (handle) => handle.close().then(() => true),
      () => false,
    );
    if (taken) throw Object.assign(new Error(`${to} exists`), { code: "EEXIST" });
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
 * Writes `failed/<name>.error.json` atomically (temporary name, fsync, rename).
 *
 * @example
 * ```ts
 * await writeErrorFile("spool/failed/evil.qcow2.error.json", { code: "image-rejected", message: "…", at: new Date().toISOString() });
 * ```
 */
export async function writeErrorFile(path: string, error: SpoolError): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.tmp`);
  await writeFile(temp, `${JSON.stringify(error, null, 2)}\n`, { mode: 0o644 });
  const handle = await open(temp, "r+");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
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
