import { ImageRejectedError } from "../errors.ts";
import type { FormatRegistry } from "../formats.ts";
import type { HeaderFacts } from "../inspect/types.ts";
import { formatSize } from "../size.ts";

/** What bounds a streamed image needs from the registry. */
export type SizeBounds = Pick<FormatRegistry, "maxFileSizeFor" | "maxFileSizeOf">;

/**
 * Bounds an image that is still arriving: at once to the largest file an image within
 * `maxSize` can be (any format), then, as soon as a header is parsed, to what that format
 * allows for its virtual size. Each bound goes to `limit` with the rejection to fail with
 * (`too-large`, `file-too-large`). Returns the inspector's `onHeader` callback.
 *
 * @example
 * ```ts
 * import { inspectImage } from "../inspect/index.ts";
 * declare const url: string, registry: SizeBounds, spec: JobSpec, file: GrowingFile;
 * const onHeader = boundDownload(url, registry, spec.maxSize, (bytes, error) => file.limit(bytes, error));
 * await inspectImage(file.reader(), { onHeader });
 * ```
 */
export function boundDownload(
  source: string,
  formats: SizeBounds,
  maxSize: number | undefined,
  limit: (bytes: number, error: () => Error) => void,
): (header: HeaderFacts) => void {
  if (maxSize !== undefined) {
    const message = `the download passed what an image of at most ${formatSize(maxSize)} (--max-size) can be`;
    limit(
      formats.maxFileSizeFor(maxSize),
      () =>
        new ImageRejectedError(`${source} rejected: ${message}`, [{ code: "too-large", message }], { stage: "fetch" }),
    );
  }
  return (header) => {
    const bound = formats.maxFileSizeOf(header.format, header.virtualSize, header.details);
    if (bound === undefined) return;
    const message = `the download passed ${formatSize(bound)}, more than a ${formatSize(header.virtualSize)} ${header.format} image can be`;
    limit(
      bound,
      () =>
        new ImageRejectedError(`${source} rejected: ${message}`, [{ code: "file-too-large", message }], {
          stage: "fetch",
        }),
    );
  };
}
