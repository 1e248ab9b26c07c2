import type { SpoolJob } from "../spool/types.ts";
import { renderRow } from "./render.ts";
import type { Counts, JobSource, SourceEntry } from "./source.ts";

/**
 * What `/api/events` sends as a `job` event: the job's summary, its rendered row, the counters.
 *
 * @example
 * ```ts
 * declare const message: { data: string };
 * const update: LiveUpdate = JSON.parse(message.data);
 * console.log(update.job.state, update.counts.running);
 * ```
 */
export interface LiveUpdate {
  job: Pick<SpoolJob, "id" | "name" | "to" | "state" | "stage" | "percent" | "output" | "error"> & { worker?: string };
  row: string;
  counts: Counts;
}

/**
 * Fans a job source's changes out to every open event stream, in the order the source
 * reported them (each update waits for the counters of its moment).
 *
 * @example
 * ```ts
 * declare const source: JobSource;
 * const hub = new LiveHub(source);
 * const off = hub.subscribe((update) => console.log(update.job.state));
 * ```
 */
export class LiveHub {
  readonly #source: JobSource;
  readonly #subscribers = new Set<(update: LiveUpdate) => void>();
  readonly #off: () => void;
  #closed = false;
  #onClose: Array<() => void> = [];
  #order: Promise<void> = Promise.resolve();

  constructor(source: JobSource) {
    this.#source = source;
    this.#off = source.on((entry) => this.#publish(entry));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The counters now. */
  counts(): Promise<Counts> {
    return this.#source.counts();
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

  #publish({ job }: SourceEntry): void {
    if (this.#subscribers.size === 0) return;
    const { id, name, to, state, stage, percent, output, error, worker } = job;
    const summary = { id, name, to, state, stage, percent, output, error, ...(worker && { worker }) };
    const row = renderRow(job, this.#source);
    this.#order = this.#order
      .then(async () => {
        const update: LiveUpdate = { job: summary, row, counts: await this.#source.counts() };
        for (const listener of this.#subscribers) listener(update);
      })
      .catch(() => undefined);
  }
}
