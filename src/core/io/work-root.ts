import { lstat, mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { DiskpipeError } from "../errors.ts";
import { pathWriters } from "./other-writers.ts";
import { workRootFor } from "./temp.ts";

const GROUP_OR_OTHER_WRITE = 0o022;

function invalid(message: string): DiskpipeError {
  return new DiskpipeError("config-invalid", message);
}

/**
 * Checks the configured `workDir` and makes `<workDir>/diskpipe`, the private folder jobs keep
 * their snapshots, downloads and partial files in. Refused as configuration errors: the file
 * system's root, a `workDir` that is a symbolic link or not a directory, and a work root others
 * could control (see {@link privateDirectory}: whoever controls it could swap a job's files).
 * Returns the work root.
 *
 * @example
 * ```ts
 * const root = await prepareWorkRoot("/var/tmp"); // "/var/tmp/diskpipe", mode 0700
 * ```
 */
export async function prepareWorkRoot(workDir: string | undefined): Promise<string> {
  if (workDir !== undefined) {
    const dir = resolve(workDir);
    if (dir === "/")
      throw invalid(
        `workDir: / is the root of the file system; give diskpipe a directory of its own for temporary files`,
      );
    const info = await lstat(dir).catch(() => undefined);
    if (info?.isSymbolicLink())
      throw invalid(`workDir: ${workDir} is a symbolic link; give the directory it points to`);
    if (info && !info.isDirectory()) throw invalid(`workDir: ${workDir} is not a directory`);
  }
  const root = resolve(workRootFor(workDir));
  await privateDirectory(root, "workDir");
  return root;
}

/**
 * Makes `dir` (mode 0700) if needed and checks that only diskpipe's user controls it: a
 * directory, not a link, owned by that user, writable by neither group nor others, on a path
 * nobody else can swap (see {@link pathWriters}). Returns its identity, to notice a swap later.
 * A failed check is `config-invalid`, naming `setting`.
 *
 * @example
 * ```ts
 * const { dev, ino } = await privateDirectory("/var/tmp/diskpipe", "workDir");
 * ```
 */
export async function privateDirectory(dir: string, setting: string): Promise<{ dev: number; ino: number }> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw invalid(`${setting}: cannot create ${dir} (${code ?? (error as Error).message})`);
  }
  const info = await lstat(dir);
  if (!info.isDirectory())
    throw invalid(
      `${setting}: ${dir} is ${info.isSymbolicLink() ? "a symbolic link" : "not a directory"}; remove it or choose another ${setting}`,
    );
  const uid = process.geteuid?.();
  if (uid !== undefined && info.uid !== uid)
    throw invalid(
      `${setting}: ${dir} belongs to uid ${info.uid}, not to diskpipe's user (${uid}); remove it or choose another ${setting}`,
    );
  if (info.mode & GROUP_OR_OTHER_WRITE)
    throw invalid(
      `${setting}: ${dir} is writable by group or others (mode ${(info.mode & 0o777).toString(8)}); chmod 700 it`,
    );
  const why = await pathWriters(dir, info.uid);
  if (why)
    throw invalid(
      `${setting}: ${dir} is within others' reach (${why}); choose a ${setting} whose parents only root or diskpipe's user can write`,
    );
  return { dev: info.dev, ino: info.ino };
}
