import type { ImageReader } from "../io/reader.ts";
import type { Found } from "./verdict.ts";
import type { DetectContext, Detector } from "./types.ts";

/**
 * Runs detectors concurrently, collecting matches into `found`. Resolves true as soon as
 * `settles(found)` holds (without waiting for the others), false when all have finished.
 * A detector that throws (an I/O error; built-ins never throw on bad input) rejects the run.
 *
 * @example
 * ```ts
 * import { headSettles } from "./verdict.ts";
 * declare const headDetectors: Detector[], found: Found[], options: InspectOptions;
 * const stopped = await runPhase(headDetectors, 0, reader, {}, found, (f) => headSettles(f, options));
 * ```
 */
export function runPhase(
  detectors: readonly Detector[],
  firstOrder: number,
  reader: ImageReader,
  context: DetectContext,
  found: Found[],
  settles: (found: Found[]) => boolean,
): Promise<boolean> {
  return new Promise((resolve, reject) => {
    let pending = detectors.length;
    let finished = false;
    if (pending === 0) return resolve(false);
    detectors.forEach((detector, index) => {
      Promise.resolve()
        .then(() => detector.detect(reader, context))
        .then(
          (detection) => {
            if (finished) return;
            if (detection) {
              if (detection.virtualSize !== undefined)
                context.onHeader?.({
                  format: detection.format,
                  virtualSize: detection.virtualSize,
                  details: detection.details ?? {},
                });
              found.push({ detector, detection, order: firstOrder + index });
              if (settles(found)) {
                finished = true;
                return resolve(true);
              }
            }
            if (--pending === 0) {
              // Stryker disable next-line BooleanLiteral: every detector has answered, so no callback is left to read the flag
              finished = true;
              resolve(false);
            }
          },
          (error: unknown) => {
            // Stryker disable next-line ConditionalExpression: rejecting a promise already settled does nothing
            if (finished) return;
            finished = true;
            reject(error);
          },
        );
    });
  });
}

/** The head of the image read once and shared by the detectors. */
const HEAD_BYTES = 4096;

/**
 * Wraps a reader so that reads within the first 4 KiB share one read of the head, and so that,
 * once `release()` is called, detectors still running after an early verdict can no longer
 * read (their reads reject and their results are ignored).
 *
 * @example
 * ```ts
 * const guard = guardReader(reader);
 * declare const detectors: Detector[], found: Found[], settles: (found: Found[]) => boolean;
 * try { await runPhase(detectors, 0, guard.reader, {}, found, settles); } finally { guard.release(); }
 * ```
 */
export function guardReader(reader: ImageReader): { reader: ImageReader; release(): void } {
  let released = false;
  let head: Promise<Uint8Array> | undefined;
  const refuse = () => Promise.reject(new Error("the inspection has finished"));
  const read = (offset: number, length: number): Promise<Uint8Array> => {
    // Most detectors look at the first sectors: one read of HEAD_BYTES answers them all (nine
    // reads per image became one; copies, so a detector cannot change what another sees).
    if (offset >= 0 && length > 0 && offset + length <= HEAD_BYTES) {
      head ??= reader.read(0, HEAD_BYTES);
      return head.then((bytes) => bytes.slice(offset, offset + length));
    }
    return reader.read(offset, length);
  };
  return {
    reader: {
      size: () => (released ? refuse() : reader.size()),
      read: (offset, length) => (released ? refuse() : read(offset, length)),
      close: () => Promise.resolve(),
    },
    release() {
      released = true;
    },
  };
}

/**
 * Asks for the image's size at once and remembers it, so an early verdict can report the size
 * when it is already known without waiting for a stream to end.
 *
 * @example
 * ```ts
 * const size = watchSize(reader);
 * declare const stoppedEarly: boolean;
 * const actualSize = stoppedEarly ? await size.soon(100) : await size.promise;
 * ```
 */
export function watchSize(reader: ImageReader): { promise: Promise<number>; soon(waitMs: number): Promise<number> } {
  let known: number | undefined;
  const promise = reader.size().then((size) => (known = size));
  promise.catch(() => undefined);
  return {
    promise,
    soon(waitMs) {
      if (known !== undefined) return Promise.resolve(known);
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(-1), waitMs);
        promise.then(
          (size) => {
            clearTimeout(timer);
            resolve(size);
          },
          () => {
            clearTimeout(timer);
            resolve(-1);
          },
        );
      });
    },
  };
}
