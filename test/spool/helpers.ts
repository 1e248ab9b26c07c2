import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { JournalEntry } from "../../src/spool/journal.ts";

/** Polls `check` until it returns a truthy value, or fails after `ms`. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, ms = 30_000): Promise<NonNullable<T>> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

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
  const handler = hook === "preConvert" ? "async preConvert(plan, ctx) { await sleep(ctx); return plan; }" : "async postConvert(ctx) { await sleep(ctx); }";
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
