import { link, open, rename, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { tempPathBeside } from "./temp.ts";

/** What file systems that cannot fsync a directory answer; the entries it holds are still written. */
const DIRECTORY_SYNC_UNSUPPORTED = new Set(["EINVAL", "ENOTSUP", "EOPNOTSUPP"]);

/**
 * Flushes a file, a block device or a directory (its entries) to stable storage. A file
 * system that cannot fsync directories is accepted for a directory; every other failure,
 * an I/O error above all, throws: what was written is not known to be durable.
 *
 * @example
 * ```ts
 * declare const temp: string, destination: string;
 * await rename(temp, destination);
 * await syncPath(dirname(destination));
 * ```
 */
export async function syncPath(path: string): Promise<void> {
  const directory = (await stat(path)).isDirectory();
  const handle = await open(path, directory ? "r" : "r+");
  try {
    await handle.sync();
  } catch (error) {
    if (!directory || !DIRECTORY_SYNC_UNSUPPORTED.has((error as NodeJS.ErrnoException).code ?? "")) throw error;
  } finally {
    await handle.close();
  }
}

/**
 * Writes `data` to `path` durably and atomically: under a temporary name beside it (created
 * exclusively), fsynced, renamed over `path`, then the directory fsynced. Readers see the old
 * file or the whole new one, never a part; on failure the temporary file is removed.
 *
 * @example
 * ```ts
 * declare const record: object;
 * await writeDurably("/srv/store/disk.json", JSON.stringify(record), { mode: 0o644 });
 * ```
 */
export async function writeDurably(
  path: string,
  data: string | Uint8Array,
  options: { mode?: number } = {},
): Promise<void> {
  const temp = tempPathBeside(path);
  try {
    const handle = await open(temp, "wx", options.mode ?? 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (failure) {
    await rm(temp, { force: true }).catch(() => {});
    throw failure;
  }
  await syncPath(dirname(path));
}

/** What `link` fails with where the filesystem has no hard links. */
const NO_HARD_LINKS = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS"]);

/**
 * Gives the file `temp` the name `final` only if no file has that name, atomically (a hard
 * link fails with EEXIST), so of two writers of one name exactly one gets it; false when
 * `final` exists. `temp` keeps its own name too (the caller removes it). Without hard links,
 * `final` is first created exclusively (empty) and `temp` renamed over it.
 *
 * @example
 * ```ts
 * declare const temp: string;
 * if (!(await createExclusive(temp, "out/disk.qcow2"))) throw new Error("out/disk.qcow2 exists");
 * await rm(temp, { force: true });
 * ```
 */
export async function createExclusive(temp: string, final: string): Promise<boolean> {
  try {
    await link(temp, final);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "";
    if (code === "EEXIST") return false;
    if (!NO_HARD_LINKS.has(code)) throw error;
  }
  try {
    await (await open(final, "wx")).close();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
  await rename(temp, final).catch(async (error: unknown) => {
    await rm(final, { force: true });
    throw error;
  });
  return true;
}
