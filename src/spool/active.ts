/** One job's task: what aborts it and what settles when it ends. */
interface Task {
  controller: AbortController;
  promise: Promise<void>;
}

/**
 * The jobs the spool is working on: running, or recording their failure. `idle()` waits until
 * there are none, `abortAll()` stops them.
 *
 * @example
 * ```ts
 * declare const job: SpoolJob;
 * declare function run(job: SpoolJob, signal: AbortSignal): Promise<void>;
 * const active = new ActiveJobs();
 * active.track(job.id, (signal) => run(job, signal), () => console.log(job.id, "ended"));
 * await active.idle(async () => {});
 * ```
 */
export class ActiveJobs {
  readonly #tasks = new Map<string, Task>();
  readonly #waiters: Array<() => void> = [];

  /** The abort signal of job `id`'s task; undefined when the job is not active. */
  signal(id: string): AbortSignal | undefined {
    return this.#tasks.get(id)?.controller.signal;
  }

  /** Runs `task` for job `id`; `onEnd` runs once it settled, however it ended. */
  track(id: string, task: (signal: AbortSignal) => Promise<void>, onEnd: () => void): void {
    const controller = new AbortController();
    const promise = task(controller.signal).finally(() => {
      this.#tasks.delete(id);
      onEnd();
      if (this.#tasks.size === 0) this.wake();
    });
    this.#tasks.set(id, { controller, promise });
  }

  /** Resolves once no task is left; `settle` (pending claims) is awaited before each look. */
  async idle(settle: () => Promise<void>): Promise<void> {
    for (;;) {
      await settle();
      if (this.#tasks.size === 0) return;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Aborts every task with `reason` and waits until all have settled. */
  async abortAll(reason: Error): Promise<void> {
    for (const { controller } of this.#tasks.values()) controller.abort(reason);
    await Promise.allSettled([...this.#tasks.values()].map((task) => task.promise));
  }

  /** Lets every idle() waiter look again. */
  wake(): void {
    for (const resolve of this.#waiters.splice(0)) resolve();
  }
}
