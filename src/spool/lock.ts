import { readFile, rm, writeFile } from "node:fs/promises";
import { DiskpipeError } from "../core/errors.ts";

/** Locks this process holds, so two spools in one process cannot share a root either. */
const held = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes the spool's watcher lock: a file holding the owner's pid. A lock left by a process
 * that is gone (killed) is taken over; one held by a live process is a usage error.
 * Returns the release function.
 *
 * @example
 * ```ts
 * const release = await takeLock("/srv/spool/watch.pid");
 * await release();
 * ```
 */
export async function takeLock(path: string): Promise<() => Promise<void>> {
  const mine = String(process.pid);
  if (held.has(path)) throw new DiskpipeError("usage", `the spool is already watched by this process (${path})`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, `${mine}\n`, { flag: "wx" });
      held.add(path);
      return async () => {
        held.delete(path);
        const holder = await readFile(path, "utf8").catch(() => "");
        if (holder.trim() === mine) await rm(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number((await readFile(path, "utf8").catch(() => "")).trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
        throw new DiskpipeError("usage", `the spool is already watched by process ${holder} (${path})`);
      }
      await rm(path, { force: true });
    }
  }
  throw new DiskpipeError("usage", `cannot take the spool lock ${path}`);
}
