import { statfs } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { DiskpipeError } from "../errors.ts";
import { formatSize } from "../size.ts";

/**
 * Bytes available to an unprivileged writer in the filesystem holding `directory` (or, when it
 * does not exist yet, its nearest existing ancestor); Infinity for a filesystem that reports no
 * size at all (ramfs and some FUSE mounts: 0 blocks in all, which means "not counted").
 *
 * @example
 * ```ts
 * const free = await freeSpace("/var/tmp");
 * ```
 */
export async function freeSpace(directory: string): Promise<number> {
  return (await spaceOf(directory)).free;
}

/**
 * Free and total bytes of the filesystem holding `directory` (see {@link freeSpace}); both
 * Infinity where the filesystem does not count.
 *
 * @example
 * ```ts
 * const { free, total } = await spaceOf("/var/tmp");
 * ```
 */
export async function spaceOf(directory: string): Promise<{ free: number; total: number }> {
  // A directory not made yet (a store's root) will be made on the filesystem of its nearest existing ancestor.
  for (let at = resolve(directory); ; at = dirname(at)) {
    try {
      const stats = await statfs(at);
      if (stats.blocks === 0) return { free: Number.POSITIVE_INFINITY, total: Number.POSITIVE_INFINITY };
      return { free: stats.bavail * stats.bsize, total: stats.blocks * stats.bsize };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT" || dirname(at) === at) throw error;
    }
  }
}

/**
 * Throws `no-space` when `directory` has less than `needed` bytes free.
 *
 * @example
 * ```ts
 * await ensureSpace("/srv/images", 10 * 1024 ** 3, "the destination");
 * ```
 */
export async function ensureSpace(directory: string, needed: number, what: string): Promise<void> {
  const free = await freeSpace(directory);
  if (free < needed) {
    throw new DiskpipeError(
      "no-space",
      `not enough space for ${what} in ${directory}: ${formatSize(needed)} needed, ${formatSize(free)} free`,
    );
  }
}
