import { accessSync, constants } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";

/**
 * Where a program is: `name` itself when it is an absolute path, else the first directory of
 * `PATH` holding an executable of that name; `undefined` when there is none.
 *
 * @example
 * ```ts
 * findProgram("xz"); // "/usr/bin/xz"
 * findProgram("/opt/zstd/bin/zstd"); // "/opt/zstd/bin/zstd", if it is executable
 * ```
 */
export function findProgram(name: string, path: string = process.env.PATH ?? ""): string | undefined {
  const candidates = isAbsolute(name)
    ? [name]
    : path
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, name));
  return candidates.find((candidate) => {
    try {
      accessSync(candidate, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
