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
  // A directory not made yet (a store's root) will be made on the filesystem of its nearest existing ancestor.
  for (let at = resolve(directory); ; at = dirname(at)) {
    try {
      const stats = await statfs(at);
      return stats.blocks === 0 ? Number.POSITIVE_INFINITY : stats.bavail * stats.bsize;
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
