import { lstat, stat } from "node:fs/promises";
import { basename, dirname, extname, join } from "node:path";
import { UsageError } from "./errors.ts";
import { fitName } from "./io/file-name.ts";
import { isUrlLocation } from "./io/location.ts";

/**
 * Where an appliance's outputs go: a directory, one file per disk and the description.
 *
 * @example
 * ```ts
 * const paths: AppliancePaths = { dir: "out", disks: ["out/vm-disk1.qcow2", "out/vm-disk2.qcow2"], description: "out/vm.ovf.json" };
 * ```
 */
export interface AppliancePaths {
  dir: string;
  disks: string[];
  description: string;
}

/**
 * The outputs of an appliance of `count` disks: into `destination` when it is a directory
 * (`convert vm.ova out/`), named after the source; else beside `destination`, named after it
 * (`--out-dir out` gives `out/vm.qcow2`, hence `out/vm-disk1.qcow2`). Names that would pass
 * the file-name limit are shortened, keeping their suffix. A URL destination is refused
 * (`usage`): the outputs and their description go to a local directory. So is an output
 * that exists already, unless `overwrite`, and one that is not a regular file (a directory, a
 * link) even then.
 *
 * @example
 * ```ts
 * await appliancePaths({ destination: "out", source: "https://example.com/vm.ova", extension: "qcow2", count: 2, suffix: "ovf" });
 * // { dir: "out", disks: ["out/vm-disk1.qcow2", "out/vm-disk2.qcow2"], description: "out/vm.ovf.json" }
 * ```
 */
export async function appliancePaths(request: {
  destination: string;
  source: string;
  extension: string;
  count: number;
  suffix: string;
  overwrite?: boolean;
}): Promise<AppliancePaths> {
  const { destination, extension, count } = request;
  if (isUrlLocation(destination))
    throw new UsageError(
      `${request.source} is an appliance of ${count} disk(s): its outputs go to a local directory, not to ${destination}`,
    );
  // A link to a directory is that directory (as `out/` would be); the outputs' own names are checked with lstat.
  const into = destination.endsWith("/") || (await stat(destination).catch(() => undefined))?.isDirectory();
  const dir = into ? destination : dirname(destination);
  const stem = stemOf(into ? request.source.replace(/[?#].*$/, "") : destination);
  const disks = Array.from({ length: count }, (_, i) => join(dir, fitName(stem, `-disk${i + 1}.${extension}`)));
  const description = join(dir, fitName(stem, `.${request.suffix}.json`));
  for (const path of [...disks, description]) {
    const existing = await lstat(path).catch(() => undefined);
    if (existing && !request.overwrite)
      throw new UsageError(`destination ${path} already exists (pass --force to replace it)`);
    // Found now, not when the description is renamed over it after the disks replaced their files.
    if (existing && !existing.isFile()) throw new UsageError(`destination ${path} is not a regular file`);
  }
  return { dir, disks, description };
}

function stemOf(path: string): string {
  const name = basename(path);
  return name.slice(0, name.length - extname(name).length) || name || "appliance";
}
