import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";

/** The longest path of a UNIX socket Linux accepts (sun_path holds 108 bytes with the final NUL). */
export const MAX_SOCKET_PATH = 107;

/**
 * A new private directory (mode 0700) for a UNIX socket named `name`: in `workDir`, unless the
 * socket's path would be too long there (a deep work root), then under /tmp. The caller removes it.
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
  return mkdtemp("/tmp/diskpipe-nbd-");
}
