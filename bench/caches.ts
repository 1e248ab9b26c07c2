import { access, constants, writeFile } from "node:fs/promises";
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
 * What happens before every timed run: `sync` (everything written so far reaches the disk
 * outside the timed part), then, under the cold policy, `echo 3 > drop_caches` and the warm-ups
 * (tiny runs of each program, so code is cached and image data is not).
 *
 * @example
 * ```ts
 * await settle("cold", [() => run("qemu-img", ["--version"])]);
 * ```
 */
export async function settle(policy: CachePolicy, warmups: Warmup[]): Promise<void> {
  await run("sync", []);
  if (policy === "cold") {
    await writeFile(DROP, "3\n");
    for (const warm of warmups) await warm();
    await run("sync", []);
  }
}
