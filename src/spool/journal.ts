import { open, readFile, truncate, type FileHandle } from "node:fs/promises";
import type { JobResult, Stage } from "../core/job.ts";
import type { InspectResult } from "../core/inspect/types.ts";
import type { Sidecar } from "./sidecar.ts";
import type { SpoolError } from "./types.ts";

/**
 * One line of `journal.jsonl`: a state change of one job. Fields other than `at`, `id` and
 * `state` depend on the state.
 *
 * @example
 * ```ts
 * const line: JournalEntry = { at: new Date().toISOString(), id: "m3x9k2ab-4f1c2e", state: "running", run: 1 };
 * ```
 */
export type JournalEntry =
  | {
      at: string;
      id: string;
      state: "queued";
      /** Set on a claim (absent when a stopped job is queued again). */
      name?: string;
      to?: string;
      work?: string;
      output?: string;
      outputExisted?: boolean;
      sidecar?: boolean;
      reason?: string;
    }
  | { at: string; id: string; state: "running"; run: number; sidecar?: Sidecar }
  | ({ at: string; id: string; state: "done"; result?: JobResult; recovered?: boolean } & JobFacts)
  | ({ at: string; id: string; state: "failed"; error: SpoolError; failed?: string } & JobFacts)
  | { at: string; id: string; state: "retried"; incoming: string };

/**
 * The time stamp of a journal entry: now, as an ISO string.
 *
 * @example
 * ```ts
 * timestamp(); // "2025-01-01T00:00:00.000Z"
 * ```
 */
export function timestamp(): string {
  return new Date().toISOString();
}

/**
 * What a finished job keeps of its run, so a restart shows the same detail.
 *
 * @example
 * ```ts
 * const facts: JobFacts = { timings: [{ stage: "convert", ms: 812 }], hooks: [{ hook: "verify", plugin: "policy", ms: 3 }] };
 * ```
 */
export interface JobFacts {
  inspection?: InspectResult;
  timings?: Array<{ stage: Stage; ms: number }>;
  hooks?: Array<{ hook: string; plugin: string; ms: number }>;
  warnings?: string[];
}

/**
 * The spool's history: an append-only JSON-lines file, one state change per line, each append
 * fsynced before it counts. A line torn by a crash is cut off when the journal is reopened.
 *
 * @example
 * ```ts
 * const { journal, entries } = await Journal.open("/srv/spool/journal.jsonl");
 * await journal.append({ at: new Date().toISOString(), id: "m3x9k2ab-4f1c2e", state: "running", run: 1 });
 * await journal.close();
 * ```
 */
export class Journal {
  readonly #handle: FileHandle;
  #tail: Promise<void> = Promise.resolve();

  private constructor(handle: FileHandle) {
    this.#handle = handle;
  }

  /** Opens (or creates) the journal and returns the entries it holds, oldest first. */
  static async open(path: string): Promise<{ journal: Journal; entries: JournalEntry[] }> {
    const text = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return "";
      throw error;
    });
    const end = text.lastIndexOf("\n") + 1;
    if (end < text.length) await truncate(path, Buffer.byteLength(text.slice(0, end)));
    const entries: JournalEntry[] = [];
    for (const line of text.slice(0, end).split("\n")) {
      if (!line.trim()) continue;
      try {
        const entry = JSON.parse(line) as JournalEntry;
        if (entry && typeof entry.id === "string" && typeof entry.state === "string") entries.push(entry);
      } catch {
        // A line damaged by hand is skipped rather than losing the rest of the history.
      }
    }
    const handle = await open(path, "a");
    return { journal: new Journal(handle), entries };
  }

  /** Appends one entry and fsyncs; appends are written in call order. */
  append(entry: JournalEntry): Promise<void> {
    const line = `${JSON.stringify(entry)}\n`;
    const write = this.#tail.then(async () => {
      await this.#handle.write(line);
      await this.#handle.sync();
    });
    this.#tail = write.catch(() => {});
    return write;
  }

  /** Waits for pending appends and closes the file. */
  async close(): Promise<void> {
    await this.#tail;
    await this.#handle.close();
  }
}
