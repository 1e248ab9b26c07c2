import { constants } from "node:fs";
import { open, rm } from "node:fs/promises";

/**
 * Whether an existing file or block device opens with O_DIRECT.
 *
 * @example
 * ```ts
 * await supportsDirectIo("/dev/vdb"); // true on most block devices
 * ```
 */
export async function supportsDirectIo(path: string): Promise<boolean> {
  if (!("O_DIRECT" in constants)) return false;
  try {
    const handle = await open(path, constants.O_RDONLY | constants.O_DIRECT);
    await handle.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a file created at `path` (which must not exist yet) would accept O_DIRECT: ext4, xfs
 * and tmpfs (since Linux 6.6) do, ramfs does not. The probe file is removed again.
 *
 * @example
 * ```ts
 * await directIoAt("/srv/images/.disk.raw.tmp-1234"); // true on ext4
 * ```
 */
export async function directIoAt(path: string): Promise<boolean> {
  if (!("O_DIRECT" in constants)) return false;
  try {
    const handle = await open(
      path,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DIRECT,
      0o600,
    );
    await handle.close();
  } catch (error) {
    // Some file systems create the file and only then refuse O_DIRECT (ramfs: EINVAL).
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") await rm(path, { force: true });
    return false;
  }
  await rm(path, { force: true });
  return true;
}
