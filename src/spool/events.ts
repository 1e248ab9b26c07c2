import type { SpoolEvent, SpoolListener } from "./types.ts";

/**
 * The spool's listeners: `emit` calls each one, and one that throws does not stop the others
 * or the spool.
 *
 * @example
 * ```ts
 * const events = new SpoolEvents();
 * const off = events.on((e) => console.log(e.type));
 * events.emit({ type: "done", job });
 * off();
 * ```
 */
export class SpoolEvents {
  readonly #listeners = new Set<SpoolListener>();

  /** Adds a listener; returns the function that removes it. */
  on(listener: SpoolListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(event: SpoolEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A listener's failure must not stop the spool.
      }
    }
  }
}
