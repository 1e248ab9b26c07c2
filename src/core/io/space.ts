import { statfs } from "node:fs/promises";
import { DiskpipeError } from "../errors.ts";
import { formatSize } from "../size.ts";

/**
 * Bytes available to an unprivileged writer in the filesystem holding `directory`.
 *
 * @example
 * ```ts
 * const free = await freeSpace("/var/tmp");
 * ```
 */
export async function freeSpace(directory: string): Promise<number> {
  const stats = await statfs(directory);
  return stats.bavail * stats.bsize;
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
