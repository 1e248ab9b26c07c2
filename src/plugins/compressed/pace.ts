import type { ImageReader } from "../../plugin-api.ts";

/** Bytes decompressed freely before the decoder waits for the inspector's head verdict. */
export const HEAD_WINDOW = 1 << 20;
/** An inspector that has asked for nothing this long has done with the head (or waits for the end). */
const IDLE_MS = 50;

/**
 * The time a {@link Pace} goes by: milliseconds now, and a timer (its cancel returned).
 * The real one is `performance.now` and `setTimeout`; a test passes one it moves itself.
 *
 * @example
 * ```ts
 * const manual: PaceClock = { now: () => 0, after: () => () => undefined }; // time stands still
 * ```
 */
export interface PaceClock {
  now(): number;
  /** Calls `wake` once `ms` milliseconds have passed, unless the returned function cancels it first. */
  after(ms: number, wake: () => void): () => void;
}

/**
 * The real clock: `performance.now()` and `setTimeout`.
 *
 * @example
 * ```ts
 * const pace = new Pace(() => 0, REAL_CLOCK); // the same as new Pace(() => 0)
 * ```
 */
export const REAL_CLOCK: PaceClock = {
  now: () => performance.now(),
  after: (ms, wake) => {
    const timer = setTimeout(wake, ms);
    return () => clearTimeout(timer);
  },
};

/**
 * Keeps decompression from racing ahead of the inspector while it reads the head: past the
 * first MiB, the pump only goes on while the inspector waits for bytes not yet written, or
 * once it has moved on to the image's end (a second `size()` call: the tail detectors), has
 * asked for nothing for 50 ms, or has finished. A fast decoder (zstd decodes over 1 GB/s) would otherwise have written tens of
 * MiB of a hostile image before its header was judged.
 *
 * @example
 * ```ts
 * declare const file: GrowingFile;
 * const pace = new Pace(() => file.written);
 * const result = inspectImage(pace.reader(file.reader()), {}).finally(() => pace.finish());
 * await pace.permit(); // in the pump, before each write past the first MiB
 * ```
 */
export class Pace {
  readonly #written: () => number;
  readonly #clock: PaceClock;
  #waiting = 0;
  #sizeCalls = 0;
  #free = false;
  #active: number;
  #wakers: Array<() => void> = [];
  #onFree: (() => void) | undefined;

  /** `written`: how many bytes the pump has written; `clock`: the time it idles by (real unless a test's). */
  constructor(written: () => number, clock: PaceClock = REAL_CLOCK) {
    this.#written = written;
    this.#clock = clock;
    this.#active = clock.now();
  }

  /**
   * The inspector's reader, watched.
   *
   * @example
   * ```ts
   * declare const pace: Pace, inner: ImageReader;
   * const reader = pace.reader(inner);
   * ```
   */
  reader(inner: ImageReader): ImageReader {
    return {
      size: () => {
        this.#active = this.#clock.now();
        // The first call is the inspector's own (it notes the size when it comes); a later one is a detector's that needs the end.
        if (++this.#sizeCalls > 1) this.finish();
        return inner.size();
      },
      read: (offset, length) => {
        this.#active = this.#clock.now();
        if (offset + length <= this.#written()) return inner.read(offset, length);
        this.#waiting++;
        this.#wake();
        return inner.read(offset, length).finally(() => {
          this.#waiting--;
          this.#active = this.#clock.now();
        });
      },
      close: () => inner.close(),
    };
  }

  /**
   * Lets the pump go on freely from now on (the inspection finished or reads to the end).
   *
   * @example
   * ```ts
   * declare const pace: Pace;
   * pace.finish();
   * ```
   */
  finish(): void {
    const first = !this.#free;
    this.#free = true;
    this.#wake();
    if (first) this.#onFree?.();
  }

  /**
   * Calls `free` once, when the pump is first let go on freely (the inspector reads to the end,
   * idles, or has finished).
   *
   * @example
   * ```ts
   * declare const pace: Pace;
   * pace.whenFree(() => console.log("the head has been read"));
   * ```
   */
  whenFree(free: () => void): void {
    this.#onFree = free;
  }

  /**
   * Resolves when the pump may write more.
   *
   * @example
   * ```ts
   * declare const pace: Pace;
   * await pace.permit();
   * ```
   */
  async permit(): Promise<void> {
    while (!this.#free && this.#waiting === 0) {
      const idle = IDLE_MS - (this.#clock.now() - this.#active);
      if (idle <= 0) return this.finish();
      await new Promise<void>((resolve) => {
        const cancel = this.#clock.after(idle, resolve);
        this.#wakers.push(() => {
          cancel();
          resolve();
        });
      });
    }
  }

  #wake(): void {
    const wakers = this.#wakers;
    this.#wakers = [];
    for (const wake of wakers) wake();
  }
}
