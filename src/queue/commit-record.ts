import { lstat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { JobContext } from "../core/context.ts";
import { isTempName } from "../core/io/temp.ts";
import type { JobResult } from "../core/job.ts";
import type { Plugin } from "../core/plugin.ts";
import { redactLocation } from "../core/redact.ts";
import type { JournalEntry, OutputIdentity } from "./journal.ts";
import { isUrlLocation } from "../core/io/location.ts";

/**
 * Called right before a job's output is committed, with the local file about to become the
 * destination (undefined for devices, URLs and stores); the commit waits until it resolves, and
 * does not happen when it throws.
 */
export type CommitListener = (output: OutputIdentity | undefined, result: JobResult) => Promise<void>;

/**
 * A plugin, run last on the `upload` hook (right before the rename that commits an output),
 * that tells the worker which file is about to become the destination. The worker journals
 * it, so a redelivered job can tell that its output was already committed (the rename keeps
 * the file's device and inode) and is recorded done without converting again.
 *
 * @example
 * ```ts
 * declare const config: import("../core/config.ts").ResolvedConfig;
 * declare const jobId: string;
 * declare function journal(output: OutputIdentity): Promise<void>;
 * const recorder = commitRecorder();
 * const pipeline = new Pipeline({ ...config, plugins: [...config.plugins, recorder.plugin] });
 * recorder.watch(jobId, async (output) => { if (output) await journal(output); });
 * ```
 */
export function commitRecorder(): { plugin: Plugin; watch(jobId: string, listener: CommitListener): () => void } {
  const listeners = new Map<string, CommitListener>();
  const plugin: Plugin = {
    name: "diskpipe-queue",
    enforce: "post",
    hooks: {
      upload: {
        order: "post",
        handler: async (ctx: JobContext) => {
          const listener = listeners.get(ctx.id);
          if (listener) await listener(await outputIdentity(ctx), resultSoFar(ctx));
        },
      },
    },
  };
  return {
    plugin,
    watch(jobId, listener) {
      listeners.set(jobId, listener);
      return () => listeners.delete(jobId);
    },
  };
}

/** The temporary output beside a local destination, which the rename will turn into it; undefined for devices, URLs and stores. */
async function outputIdentity(ctx: JobContext): Promise<OutputIdentity | undefined> {
  const path = ctx.output?.path;
  const destination = ctx.spec.destination;
  if (!path || isUrlLocation(destination)) return undefined;
  if (dirname(path) !== dirname(resolve(destination)) || !isTempName(path)) return undefined;
  const stats = await lstat(path);
  return { path: resolve(destination), dev: stats.dev, ino: stats.ino, size: stats.size };
}

function resultSoFar(ctx: JobContext): JobResult {
  return {
    jobId: ctx.id,
    source: redactLocation(ctx.spec.source),
    destination: redactLocation(ctx.spec.destination),
    from: ctx.inspection?.format ?? "",
    to: ctx.spec.to,
    virtualSize: ctx.inspection?.virtualSize ?? 0,
    outputSize: ctx.output?.size ?? 0,
    ms: 0,
    timings: [],
    warnings: [],
  };
}

/**
 * The result of an earlier attempt whose output is the destination now: the journal's last
 * `committing` entry names a file whose device, inode and size the destination has.
 *
 * @example
 * ```ts
 * declare const entries: JournalEntry[]; // the job's journal, read from its log
 * const done = await committedEarlier(entries, "/srv/out/a.qcow2");
 * if (done) console.log("converted already:", done.destination); // no second conversion
 * ```
 */
export async function committedEarlier(
  entries: readonly JournalEntry[],
  destination: string,
): Promise<JobResult | undefined> {
  if (isUrlLocation(destination)) return undefined;
  const last = entries.filter((entry) => entry.event === "committing").at(-1);
  if (last?.event !== "committing" || last.output.path !== resolve(destination)) return undefined;
  const now = await lstat(destination).catch(() => undefined);
  if (!now?.isFile() || now.dev !== last.output.dev || now.ino !== last.output.ino || now.size !== last.output.size)
    return undefined;
  return last.result;
}
