import { readFile, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { DiskpipeError } from "../core/errors.ts";
import { processAlive } from "../core/io/process-alive.ts";

/** Locks this process holds, so two spools in one process cannot share a root either. */
const held = new Set<string>();

/**
 * Takes the spool's watcher lock: a file holding the owner's pid and host (`4242 host-a`). A
 * lock left by a process of this host that is gone (killed) is taken over; one held by a live
 * process, or by a process of another host (a spool on shared storage: its liveness cannot be
 * checked from here), is a usage error. Returns the release function.
 *
 * @example
 * ```ts
 * const release = await takeLock("/srv/spool/watch.pid");
 * await release();
 * ```
 */
export async function takeLock(path: string): Promise<() => Promise<void>> {
  const host = hostname();
  const mine = `${process.pid} ${host}`;
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
      const [pidText = "", holderHost = host] = (await readFile(path, "utf8").catch(() => "")).trim().split(/\s+/);
      const holder = Number(pidText);
      if (holderHost !== host) {
        throw new DiskpipeError(
          "usage",
          `the spool is watched by process ${holder} on ${holderHost} (if that watcher is gone, remove ${path})`,
        );
      }
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && processAlive(holder)) {
        throw new DiskpipeError("usage", `the spool is already watched by process ${holder} (${path})`);
      }
      await rm(path, { force: true });
    }
  }
  throw new DiskpipeError("usage", `cannot take the spool lock ${path}`);
}
