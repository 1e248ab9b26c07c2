/**
 * A counting semaphore: at most `size` tasks run at once. One instance bounds batch runs and
 * the spool of a pipeline together.
 *
 * @example
 * ```ts
 * const limit = new Limiter(2);
 * declare const files: string[], convertOne: (file: string) => Promise<void>;
 * await Promise.all(files.map((f) => limit.run(() => convertOne(f))));
 * ```
 */
export class Limiter {
  #active = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(readonly size: number) {}

  /** Tasks running now. */
  get active(): number {
    return this.#active;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.size) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#active++;
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active--;
    }
  }
}
