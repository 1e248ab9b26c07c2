import { execFileSync } from "node:child_process";
import { chmodSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { JournalEntry } from "../../src/spool/journal.ts";
import type { Spool } from "../../src/spool/spool.ts";
import type { SpoolEvent } from "../../src/spool/types.ts";

export { waitFor } from "../helpers/wait.ts";

/** The journal's entries (empty if there is none yet). */
export function readJournal(root: string): JournalEntry[] {
  try {
    return readFileSync(join(root, "journal.jsonl"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as JournalEntry);
  } catch {
    return [];
  }
}

/** File names in a spool folder, sorted (missing folder: empty). */
export function filesIn(root: string, folder: string): string[] {
  try {
    return readdirSync(join(root, folder)).sort();
  } catch {
    return [];
  }
}

/** A configuration module (plain ESM, no imports) with a plugin that sleeps in `hook` for `SLOW_MS` (env) ms, aborting with the job. */
export function writeSlowConfig(path: string, hook: "preConvert" | "postConvert"): string {
  const handler =
    hook === "preConvert"
      ? "async preConvert(plan, ctx) { await sleep(ctx); return plan; }"
      : "async postConvert(ctx) { await sleep(ctx); }";
  writeFileSync(
    path,
    `const sleep = (ctx) => new Promise((resolve, reject) => {
  const ms = Number(process.env.SLOW_MS ?? 0);
  const timer = setTimeout(resolve, ms);
  ctx.signal.addEventListener("abort", () => { clearTimeout(timer); reject(new Error("aborted while sleeping")); }, { once: true });
});
export default {
  jobs: 2,
  plugins: [{ name: "slow", hooks: { ${handler} } }],
};
`,
  );
  return path;
}

/** Resolves with the first event of `spool` that `match` accepts (listening starts at once). */
export function nextEvent(spool: Spool, match: (event: SpoolEvent) => boolean): Promise<SpoolEvent> {
  return new Promise((resolve) => {
    const off = spool.events.on((event) => {
      if (!match(event)) return;
      off();
      resolve(event);
    });
  });
}

/** Resolves with the first process warning `match` accepts (listening starts at once). */
export function nextWarning(
  match: (warning: Error & { code?: string }) => boolean,
): Promise<Error & { code?: string }> {
  return new Promise((resolve) => {
    const listener = (warning: Error & { code?: string }) => {
      if (!match(warning)) return;
      process.off("warning", listener);
      resolve(warning);
    };
    process.on("warning", listener);
  });
}

/** Rejects when `promise` has not settled after `ms` (a bound on a positive wait, never a sleep). */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)),
  );
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Makes a folder unwritable: mode 0500 and, for root (whom modes do not stop), the immutable
 * attribute. {@link unlockFolder} undoes both.
 */
export function lockFolder(path: string): void {
  chmodSync(path, 0o500);
  if (process.getuid?.() === 0) execFileSync("chattr", ["+i", path]);
}

/** Undoes {@link lockFolder}. */
export function unlockFolder(path: string): void {
  if (process.getuid?.() === 0) execFileSync("chattr", ["-i", path]);
  chmodSync(path, 0o755);
}

/** Every file name under the spool's folders, for checks that apply to all of them. */
export function allNames(root: string): string[] {
  return ["incoming", "work", "done", "failed"].flatMap((folder) => {
    try {
      return readdirSync(join(root, folder), { recursive: true, encoding: "utf8" }).map((path) =>
        path.split("/").at(-1)!,
      );
    } catch {
      return [];
    }
  });
}
