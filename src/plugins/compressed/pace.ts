import type { ImageReader } from "../../plugin-api.ts";

/** Bytes decompressed freely before the decoder waits for the inspector's head verdict. */
export const HEAD_WINDOW = 1 << 20;
/** An inspector that has asked for nothing this long has done with the head (or waits for the end). */
const IDLE_MS = 50;

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
  #waiting = 0;
  #sizeCalls = 0;
  #free = false;
  #active = performance.now();
  #wakers: Array<() => void> = [];

  constructor(written: () => number) {
    this.#written = written;
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
        this.#active = performance.now();
        // The first call is the inspector's own (it notes the size when it comes); a later one is a detector's that needs the end.
        if (++this.#sizeCalls > 1) this.finish();
        return inner.size();
      },
      read: (offset, length) => {
        this.#active = performance.now();
        if (offset + length <= this.#written()) return inner.read(offset, length);
        this.#waiting++;
        this.#wake();
        return inner.read(offset, length).finally(() => {
          this.#waiting--;
          this.#active = performance.now();
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
    this.#free = true;
    this.#wake();
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
      const idle = IDLE_MS - (performance.now() - this.#active);
      if (idle <= 0) return this.finish();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, idle);
        this.#wakers.push(() => {
          clearTimeout(timer);
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
