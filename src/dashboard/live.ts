import type { Spool } from "../spool/spool.ts";
import type { SpoolJob } from "../spool/types.ts";
import { countJobs, renderRow, type Counts } from "./render.ts";

/**
 * What `/api/events` sends as a `job` event: the job's summary, its rendered row, the counters.
 *
 * @example
 * ```ts
 * const source = new EventSource("/api/events");
 * source.addEventListener("job", (m) => { const update: LiveUpdate = JSON.parse(m.data); console.log(update.job.state); });
 * ```
 */
export interface LiveUpdate {
  job: Pick<SpoolJob, "id" | "name" | "to" | "state" | "stage" | "percent" | "output" | "error">;
  row: string;
  counts: Counts;
}

/**
 * Fans the spool's job changes out to every open event stream.
 *
 * @example
 * ```ts
 * const hub = new LiveHub(spool);
 * const off = hub.subscribe((update) => console.log(update.job.state));
 * ```
 */
export class LiveHub {
  readonly #spool: Spool;
  readonly #subscribers = new Set<(update: LiveUpdate) => void>();
  readonly #off: () => void;
  #closed = false;
  #onClose: Array<() => void> = [];

  constructor(spool: Spool) {
    this.#spool = spool;
    this.#off = spool.events.on((event) => {
      if (event.type !== "pipeline") this.#publish(event.job);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The counters now. */
  counts(): Counts {
    return countJobs(this.#spool.jobs());
  }

  subscribe(listener: (update: LiveUpdate) => void): () => void {
    this.#subscribers.add(listener);
    return () => this.#subscribers.delete(listener);
  }

  /** Resolves when the hub closes (streams end then). */
  whenClosed(): Promise<void> {
    return this.#closed ? Promise.resolve() : new Promise((resolve) => this.#onClose.push(resolve));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#off();
    this.#subscribers.clear();
    for (const resolve of this.#onClose.splice(0)) resolve();
  }

  #publish(job: SpoolJob): void {
    if (this.#subscribers.size === 0) return;
    const { id, name, to, state, stage, percent, output, error } = job;
    const update: LiveUpdate = { job: { id, name, to, state, stage, percent, output, error }, row: renderRow(job, this.#spool.layout.root), counts: this.counts() };
    for (const listener of this.#subscribers) listener(update);
  }
}
