import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createPipeline } from "../../src/create-pipeline.ts";
import type { PluginOption } from "../../src/core/plugin.ts";
import { defaultConfig } from "../../src/scripting.ts";
import type { JournalEntry } from "../../src/spool/journal.ts";
import { createSpool, type Spool } from "../../src/spool/spool.ts";
import type { SpoolListener } from "../../src/spool/types.ts";

/** A time stamp `n` seconds into 2025, for journals whose order of failures matters. */
export const at = (n = 0): string => new Date(Date.UTC(2025, 0, 1, 0, 0, n)).toISOString();

/** A spool folder whose journal and files look like a crash left them. */
export function crashedSpool(base: string, name: string, entries: JournalEntry[]): string {
  const root = join(base, name);
  for (const folder of ["incoming/qcow2", "work", "done", "failed"]) mkdirSync(join(root, folder), { recursive: true });
  writeFileSync(join(root, "journal.jsonl"), entries.map((e) => `${JSON.stringify(e)}\n`).join(""));
  return root;
}

/** The claim of `name` into qcow2 by job `id`, as the journal holds it. */
export function claimOf(
  id: string,
  name: string,
  extra: Partial<Extract<JournalEntry, { state: "queued" }>> = {},
): JournalEntry {
  const stem = name.replace(/\.[^.]*$/, "");
  return {
    at: at(),
    id,
    state: "queued",
    name,
    to: "qcow2",
    work: `${id}--${name}`,
    output: `${stem}.qcow2`,
    outputExisted: false,
    sidecar: false,
    ...extra,
  };
}

/** Creates and starts a spool on `root` with the default configuration, `plugins` added. */
export async function openSpool(
  root: string,
  options: { plugins?: PluginOption[]; onEvent?: SpoolListener } = {},
): Promise<Spool> {
  const config = await defaultConfig();
  const pipeline = createPipeline({ ...config, plugins: [...(config.plugins ?? []), ...(options.plugins ?? [])] });
  const spool = createSpool({ root, pipeline, settleMs: 100, ...(options.onEvent && { onEvent: options.onEvent }) });
  await spool.start();
  return spool;
}
