/**
 * Who may write which name in `done/`. A claimed job reserves its output name until its run ends;
 * a job claimed while its name was already in `done/` or reserved gets none and is remembered as
 * taken: it fails instead of converting (two jobs never write one output).
 *
 * @example
 * ```ts
 * const outputs = new OutputNames();
 * outputs.reserve("disk.qcow2", "m3x9k2ab-4f1c2e");
 * outputs.isReserved("disk.qcow2"); // true
 * outputs.release("disk.qcow2", "m3x9k2ab-4f1c2e");
 * ```
 */
export class OutputNames {
  /** Output name → the id of the job that will write it. */
  readonly #reserved = new Map<string, string>();
  /** Jobs whose output name was already taken when they were claimed. */
  readonly #taken = new Set<string>();

  /** Reserves `name` for job `id`. */
  reserve(name: string, id: string): void {
    this.#reserved.set(name, id);
  }

  /** Whether a job holds `name`. */
  isReserved(name: string): boolean {
    return this.#reserved.has(name);
  }

  /** Frees `name` if job `id` holds it; a name another job holds stays reserved. */
  release(name: string, id: string): void {
    if (this.#reserved.get(name) === id) this.#reserved.delete(name);
  }

  /** Frees every name (the spool stopped); which jobs found their name taken is kept. */
  releaseAll(): void {
    this.#reserved.clear();
  }

  /** Remembers that job `id` found its output name taken when it was claimed. */
  markTaken(id: string): void {
    this.#taken.add(id);
  }

  /** Whether job `id` found its output name taken when it was claimed. */
  wasTaken(id: string): boolean {
    return this.#taken.has(id);
  }
}
