import { access, constants, writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { run } from "./exec.ts";

/** How the page cache is treated between runs. */
export type CachePolicy = "cold" | "warm";

const DROP = "/proc/sys/vm/drop_caches";

/**
 * The policy this machine allows: "cold" (page cache dropped before every run) as root with a
 * writable drop_caches, else "warm".
 *
 * @example
 * ```ts
 * const policy = await cachePolicy(); // "cold" as root
 * ```
 */
export async function cachePolicy(): Promise<CachePolicy> {
  if (process.getuid?.() !== 0) return "warm";
  return access(DROP, constants.W_OK).then(
    () => "cold",
    () => "warm",
  );
}

/** A command run after the caches are dropped, so the programs' own code is warm but not the data. */
export type Warmup = () => Promise<unknown>;

/**
 * How long every timed run waits after the caches settle. On the VM this bench was written on,
 * the same `qemu-img convert` (4 GiB qcow2, 2 GiB of data) took 0.6 s started right after the
 * drop, 2.5 s started half a second later and 4.7 s four seconds later (likely the freed memory
 * being handed back to the host and faulted in again). Without a pause that favours whichever
 * side starts its I/O first: qemu-img, before diskpipe's ~0.4 s of start-up. With the pause
 * both sides start in the same state.
 */
export const QUIESCE_MS = 3000;

/**
 * What happens before every timed run: `sync` (everything written so far reaches the disk
 * outside the timed part), then, under the cold policy, `echo 3 > drop_caches`, then the
 * warm-ups (cold: tiny runs of each program, so code is cached and image data is not; warm:
 * those and a read of every image, so the sources are in the page cache), then a pause of
 * `quiesceMs`.
 *
 * @example
 * ```ts
 * await settle("cold", [() => run("qemu-img", ["--version"])], QUIESCE_MS);
 * ```
 */
export async function settle(policy: CachePolicy, warmups: Warmup[], quiesceMs: number): Promise<void> {
  await run("sync", []);
  if (policy === "cold") await writeFile(DROP, "3\n");
  for (const warm of warmups) await warm();
  if (warmups.length > 0) await run("sync", []);
  if (quiesceMs > 0) await sleep(quiesceMs);
}
