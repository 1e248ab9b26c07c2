import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";

/** The marker in every temporary name diskpipe writes, so stale ones can be found and removed. */
export const TEMP_MARKER = ".diskpipe-tmp-";

/**
 * The folder jobs and temporary images live in: `<workDir>/diskpipe`, by default under the
 * OS temp dir.
 *
 * @example
 * ```ts
 * workRootFor("/var/tmp"); // "/var/tmp/diskpipe"
 * ```
 */
export function workRootFor(workDir: string | undefined): string {
  return join(workDir ?? tmpdir(), "diskpipe");
}

/**
 * A temporary name beside `destination`, in the same directory, so the final rename is atomic.
 *
 * @example
 * ```ts
 * tempPathBeside("/srv/out.qcow2"); // "/srv/.out.qcow2.diskpipe-tmp-3f2a9c1b"
 * ```
 */
export function tempPathBeside(destination: string): string {
  return join(dirname(destination), `.${basename(destination)}${TEMP_MARKER}${randomBytes(4).toString("hex")}`);
}

/**
 * Whether a file name was made by {@link tempPathBeside}.
 *
 * @example
 * ```ts
 * isTempName(".out.qcow2.diskpipe-tmp-3f2a9c1b"); // true
 * ```
 */
export function isTempName(name: string): boolean {
  return name.includes(TEMP_MARKER);
}
