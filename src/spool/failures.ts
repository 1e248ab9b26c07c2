import { basename, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { DiskpipeError } from "../core/errors.ts";
import { syncPath } from "../core/io/durable.ts";
import { moveIfPresent, present, writeErrorFile } from "./claim.ts";
import { FailedNames } from "./failed-names.ts";
import type { JournalEntry } from "./journal.ts";
import { timestamp } from "./journal.ts";
import { fitsFailed, sidecarOf } from "./names.ts";
import type { SpoolLayout } from "./paths.ts";
import { applyEntry, factsOf } from "./state.ts";
import type { SpoolError, SpoolEvent, SpoolJob } from "./types.ts";
import { warnSpool } from "./warn.ts";

/**
 * What recording failures needs of the spool.
 *
 * @example
 * ```ts
 * import { Journal } from "./journal.ts";
 * const { journal } = await Journal.open("/srv/spool/journal.jsonl");
 * const host: FailureHost = {
 *   layout: spoolLayout("/srv/spool"), jobs: new Map(), append: (e) => journal.append(e), emit: (e) => console.log(e.type),
 * };
 * ```
 */
export interface FailureHost {
  readonly layout: SpoolLayout;
  readonly jobs: Map<string, SpoolJob>;
  append(entry: JournalEntry): Promise<void>;
  emit(event: SpoolEvent): void;
}

/**
 * One job's failure being recorded: journaled, its error file written, its file and sidecar
 * moved into `failed/`.
 *
 * @example
 * ```ts
 * declare const failures: Failures, job: SpoolJob, error: DiskpipeError;
 * const record = failures.fail(job, error);
 * await record.untilDone(AbortSignal.timeout(60_000));
 * ```
 */
export interface FailureRecord {
  /** One try; false (after a warning the first time) when something could not be written yet. */
  attempt(): Promise<boolean>;
  /** Tries until it is done, waiting longer after each miss; stops when `signal` aborts (the next start finishes it). */
  untilDone(signal: AbortSignal): Promise<void>;
}

/**
 * The wait before the next attempt: 250 ms, doubling, at most 30 s.
 *
 * @example
 * ```ts
 * backoffMs(0); // 250
 * backoffMs(20); // 30000
 * ```
 */
export function backoffMs(attempt: number): number {
  return Math.min(30_000, 250 * 2 ** Math.min(attempt, 16));
}

/**
 * Records the spool's failures. A failure whose record cannot be written (a full disk, a
 * read-only `failed/`) shows the job failed at once, warns `DISKPIPE_SPOOL_UNRECORDED`, and is
 * tried again with backoff while the job stays active; the next start finishes what a stop left.
 *
 * @example
 * ```ts
 * import { DiskpipeError } from "diskpipe";
 * declare const host: FailureHost, job: SpoolJob;
 * const failures = new Failures(host);
 * await failures.fail(job, new DiskpipeError("usage", "bad sidecar")).untilDone(AbortSignal.timeout(60_000));
 * ```
 */
export class Failures {
  readonly #host: FailureHost;
  readonly #names: FailedNames;
  /** Jobs whose failure is not recorded yet. */
  readonly #pending = new Set<string>();

  constructor(host: FailureHost) {
    this.#host = host;
    this.#names = new FailedNames(host.layout.failed, host.jobs);
  }

  /** Whether the failure of job `id` is still waiting to be recorded. */
  pending(id: string): boolean {
    return this.#pending.has(id);
  }

  /** The record of a new failure: nothing of it is journaled yet. */
  fail(job: SpoolJob, error: DiskpipeError): FailureRecord {
    const json = error.toJSON();
    // Messages name the claimed file by its work path; people dropped it under its own name.
    const reason: SpoolError = { ...json, message: json.message.replaceAll(job.source, job.name), at: timestamp() };
    return this.#record(job, reason, undefined, false);
  }

  /** The record of a failure the journal holds (recovery); a name journaled before names were cut is replaced. */
  resume(job: SpoolJob, error: SpoolError): FailureRecord {
    const journaled = job.failedPath && fitsFailed(basename(job.failedPath)) ? basename(job.failedPath) : undefined;
    return this.#record(job, error, journaled, true);
  }

  #record(job: SpoolJob, reason: SpoolError, journaled: string | undefined, announced: boolean): FailureRecord {
    let name = journaled;
    let inJournal = journaled !== undefined;
    let warned = false;
    const entryFor = (failed: string): JournalEntry => ({
      at: reason.at,
      id: job.id,
      state: "failed",
      error: reason,
      failed,
      ...factsOf(job),
    });
    const release = () => {
      if (name !== undefined) this.#names.release(name);
      this.#pending.delete(job.id);
    };
    const attempt = async (): Promise<boolean> => {
      try {
        name ??= await this.#names.reserve(job);
        if (!inJournal) {
          await this.#host.append(entryFor(name));
          inJournal = true;
        }
        await this.#moveFiles(job, join(this.#host.layout.failed, name), reason);
        applyEntry(this.#host.jobs, entryFor(name), this.#host.layout);
        release();
        if (!announced) this.#host.emit({ type: "failed", job });
        return true;
      } catch (error) {
        this.#pending.add(job.id);
        if (!announced) {
          // Shown failed at once (never "running" for ever), though its files are not in failed/ yet.
          if (name !== undefined) applyEntry(this.#host.jobs, entryFor(name), this.#host.layout);
          announced = true;
          this.#host.emit({ type: "failed", job });
        }
        if (!warned) {
          warned = true;
          warnSpool(
            "DISKPIPE_SPOOL_UNRECORDED",
            `the failure of job ${job.id} ${JSON.stringify(job.name)} is not recorded yet; trying again`,
            error,
          );
        }
        return false;
      }
    };
    const untilDone = async (signal: AbortSignal): Promise<void> => {
      for (let attempts = 0; !(await attempt()); attempts++) {
        try {
          await sleep(backoffMs(attempts), undefined, { signal });
        } catch {
          release();
          return;
        }
      }
    };
    return { attempt, untilDone };
  }

  /** Writes the error file and moves the source and its sidecar into `failed/` (each step repeatable). */
  async #moveFiles(job: SpoolJob, failedPath: string, error: SpoolError): Promise<void> {
    if (!(await present(job.source))) return;
    await writeErrorFile(`${failedPath}.error.json`, error);
    const sidecar = sidecarOf(job.source);
    if (sidecar) await moveIfPresent(sidecar, `${failedPath}.json`);
    await moveIfPresent(job.source, failedPath);
    await syncPath(this.#host.layout.failed);
  }
}
