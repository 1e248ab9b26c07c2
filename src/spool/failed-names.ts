import { join } from "node:path";
import { exists } from "./claim.ts";
import { failedNameFor } from "./names.ts";
import type { SpoolJob } from "./types.ts";

/**
 * Chooses the name a failing job's file gets in `failed/`: `<name>`, or `<id>--<name>` when that
 * is on disk (the file or its error file), chosen by a failure not recorded yet, or journaled by
 * another failed job. A chosen name stays reserved until `release`.
 *
 * @example
 * ```ts
 * declare const jobs: Map<string, SpoolJob>, job: SpoolJob;
 * const names = new FailedNames("/srv/spool/failed", jobs);
 * const name = await names.reserve(job); // "disk.vmdk", or "m3x9k2ab-4f1c2e--disk.vmdk" when taken
 * names.release(name);
 * ```
 */
export class FailedNames {
  readonly #folder: string;
  readonly #jobs: ReadonlyMap<string, SpoolJob>;
  /** Names chosen by failures not recorded yet. */
  readonly #chosen = new Set<string>();

  /** `folder` is `failed/`; `jobs` the spool's jobs, whose journaled failures hold their names. */
  constructor(folder: string, jobs: ReadonlyMap<string, SpoolJob>) {
    this.#folder = folder;
    this.#jobs = jobs;
  }

  /** Chooses and reserves the name of `job`'s file in `failed/`. */
  async reserve(job: SpoolJob): Promise<string> {
    const plain = failedNameFor(job.name);
    const path = join(this.#folder, plain);
    const onDisk = (await exists(path)) || (await exists(`${path}.error.json`));
    // No await from here on: checking and reserving must not interleave with another failure.
    const taken = onDisk || this.#chosen.has(plain) || this.#journaledByAnother(job, path);
    const name = taken ? failedNameFor(job.name, job.id) : plain;
    this.#chosen.add(name);
    return name;
  }

  /** Frees `name` once its failure is recorded (or given up until the next start). */
  release(name: string): void {
    this.#chosen.delete(name);
  }

  #journaledByAnother(job: SpoolJob, path: string): boolean {
    for (const other of this.#jobs.values())
      if (other !== job && other.state === "failed" && other.failedPath === path) return true;
    return false;
  }
}
