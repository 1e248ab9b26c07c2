import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { DiskpipeError } from "../errors.ts";
import type { SourceDriver } from "./types.ts";

/**
 * Local files and block devices, used in place: never copied into the conversion directory.
 *
 * @example
 * ```ts
 * const image = await pathSource.fetch("disk.vmdk", ctx);
 * ```
 */
export const pathSource: SourceDriver = {
  name: "path",
  matches: (location) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(location),
  async fetch(location) {
    const path = resolve(location);
    const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
      const why = error.code === "ENOENT" ? "no such file" : error.code === "EACCES" ? "permission denied" : error.message;
      throw new DiskpipeError("fetch-failed", `cannot read source ${location}: ${why}`, { cause: error });
    });
    if (!info.isFile() && !info.isBlockDevice()) {
      throw new DiskpipeError("fetch-failed", `source ${location} is not a regular file or block device`);
    }
    return { path, temporary: false };
  },
};
