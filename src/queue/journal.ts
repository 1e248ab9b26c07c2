import type { JobResult } from "../core/job.ts";
import { fromRedis } from "./redis-values.ts";

/**
 * One line of a queued job's journal (its BullMQ log): every attempt's start and end, the
 * output about to be committed, a job given back to the queue by a stopping worker, and an
 * attempt that found, right before its commit, that the job had been taken over (`fenced`).
 *
 * @example
 * ```ts
 * const entry: JournalEntry = { at: "2025-01-01T00:00:00.000Z", worker: "w1", event: "start", attempt: 1 };
 * ```
 */
export type JournalEntry =
  | { at: string; worker: string; event: "start"; attempt: number }
  | { at: string; worker: string; event: "committing"; output: OutputIdentity; result: JobResult }
  | { at: string; worker: string; event: "done"; recovered?: boolean }
  | { at: string; worker: string; event: "failed"; code: string; retry: boolean }
  | { at: string; worker: string; event: "returned" }
  | { at: string; worker: string; event: "fenced" };

/** What identifies a committed output file: the temporary file's device, inode and size, which the rename keeps. */
export interface OutputIdentity {
  path: string;
  dev: number;
  ino: number;
  size: number;
}

/** Where journal entries are written and read: a BullMQ job's `log` and the queue's `getJobLogs`. */
export interface JournalStore {
  log(row: string): Promise<unknown>;
}

/**
 * Appends an entry to a job's journal.
 *
 * @example
 * ```ts
 * import type { Job } from "bullmq";
 * declare const job: Job;
 * await record(job, { worker: "w1", event: "done" });
 * ```
 */
export async function record(job: JournalStore, entry: DistributiveOmit<JournalEntry, "at">): Promise<void> {
  await job.log(JSON.stringify({ at: new Date().toISOString(), ...entry }));
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * A job's journal from its log lines; lines that are not entries (written by something else)
 * are left out.
 *
 * @example
 * ```ts
 * import type { Queue } from "bullmq";
 * declare const queue: Queue, id: string;
 * const { logs } = await queue.getJobLogs(id);
 * const entries = journalOf(logs);
 * ```
 */
export function journalOf(lines: readonly string[]): JournalEntry[] {
  return lines.flatMap((line) => {
    try {
      const entry = JSON.parse(line) as Partial<JournalEntry> | null;
      if (!entry || typeof entry.event !== "string" || typeof entry.worker !== "string" || typeof entry.at !== "string")
        return [];
      return entry.event === "committing" ? committingOf(entry as Record<string, unknown>) : [entry as JournalEntry];
    } catch {
      return [];
    }
  });
}

/**
 * A `committing` entry with its output's identity and its result checked: a redelivered job
 * returns that result without converting, so an entry of another shape is left out.
 */
function committingOf(entry: Record<string, unknown>): JournalEntry[] {
  const { path, dev, ino, size } = fromRedis.record(entry.output);
  const result = fromRedis.result(entry.result);
  const { number } = fromRedis;
  if (typeof path !== "string" || !number(dev) || !number(ino) || !number(size) || !result) return [];
  return [
    {
      at: String(entry.at),
      worker: String(entry.worker),
      event: "committing",
      output: { path, dev, ino, size },
      result,
    },
  ];
}
