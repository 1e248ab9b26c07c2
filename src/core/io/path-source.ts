import { pinSource } from "./pin-source.ts";
import type { SourceDriver } from "./types.ts";

/**
 * Local files and block devices. A file nobody else can change is used in place (never copied
 * into the conversion directory); one that another user could write during the job is
 * snapshotted privately first (see {@link pinSource}), so qemu-img reads what was inspected.
 *
 * @example
 * ```ts
 * const image = await pathSource.fetch("disk.vmdk", ctx);
 * ```
 */
export const pathSource: SourceDriver = {
  name: "path",
  matches: (location) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(location),
  async fetch(location, ctx) {
    const pinned = await pinSource(location, ctx.workDir, {
      signal: ctx.signal,
      onProgress: (bytes, total) => ctx.progress(bytes, total),
    });
    return { path: pinned.path, temporary: pinned.snapshot !== undefined };
  },
};
