import { link, lstat, rename, rm, unlink } from "node:fs/promises";
import { writeDurably } from "../core/io/durable.ts";
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
 * if (await present("spool/work/m3x9k2ab-4f1c2e--disk.vmdk")) console.log("still to move"); // an EACCES throws
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
 * Writes `failed/<name>.error.json` atomically and durably (see {@link writeDurably}).
 *
 * @example
 * ```ts
 * await writeErrorFile("spool/failed/evil.qcow2.error.json", { code: "image-rejected", message: "…", at: new Date().toISOString() });
 * ```
 */
export async function writeErrorFile(path: string, error: SpoolError): Promise<void> {
  await writeDurably(path, `${JSON.stringify(error, null, 2)}\n`, { mode: 0o644 });
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
