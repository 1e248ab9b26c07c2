/**
 * A set of listeners to one kind of event: `emit` calls each, and one that throws stops
 * neither the others nor whoever emits (a job, the spool).
 *
 * @example
 * ```ts
 * const listeners = new Listeners<JobEvent>();
 * const off = listeners.on((e) => console.log(e.type));
 * listeners.emit({ type: "warning", jobId: "a1", message: "slow disk" });
 * off();
 * ```
 */
export class Listeners<E> {
  readonly #listeners = new Set<(event: E) => void>();

  /** Adds a listener; returns the function that removes it. */
  on(listener: (event: E) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Calls every listener with `event`, in the order they were added. */
  emit(event: E): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own.
      }
    }
  }
}
