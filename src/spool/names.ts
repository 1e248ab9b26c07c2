import { basename, extname } from "node:path";
import { NAME_MAX, fitName, truncateUtf8 } from "../core/io/file-name.ts";
import { stemOf } from "./paths.ts";

/** What the longest name kept beside a file adds to it: `<name>.error.json` in failed/. */
const ERROR_SUFFIX = ".error.json";
/** A sidecar: `<name>.json`. */
const SIDECAR_SUFFIX = ".json";

const bytes = (text: string) => Buffer.byteLength(text);

/**
 * Whether `name + suffix` fits one file name (255 bytes of UTF-8).
 *
 * @example
 * ```ts
 * fits("disk.vmdk", ".json"); // true
 * fits("x".repeat(251), ".json"); // false
 * ```
 */
export function fits(name: string, suffix = ""): boolean {
  return bytes(name) + bytes(suffix) <= NAME_MAX;
}

/**
 * `name` cut to `max` bytes between code points: the stem is shortened and the extension kept,
 * unless the extension alone would take more than half the room (then the whole name is cut).
 *
 * @example
 * ```ts
 * fitKeepingExtension(`${"a".repeat(300)}.vmdk`, 100); // "aaa….vmdk", 100 bytes
 * ```
 */
export function fitKeepingExtension(name: string, max: number): string {
  if (bytes(name) <= max) return name;
  const extension = extname(name);
  if (extension && bytes(extension) <= max / 2) return fitName(name.slice(0, -extension.length), extension, max);
  return truncateUtf8(name, max);
}

/**
 * The claimed file's name in `work/`: `<id>--<name>`, cut so that its sidecar `<work>.json`
 * fits too.
 *
 * @example
 * ```ts
 * workNameFor("m3x9k2ab-4f1c2e", "disk.vmdk"); // "m3x9k2ab-4f1c2e--disk.vmdk"
 * ```
 */
export function workNameFor(id: string, name: string): string {
  const prefix = `${id}--`;
  return prefix + fitKeepingExtension(name, NAME_MAX - bytes(prefix) - bytes(SIDECAR_SUFFIX));
}

/**
 * The output's name in `done/`: `<stem>.<extension>`, the stem cut so the whole fits.
 *
 * @example
 * ```ts
 * outputNameFor("win.vhdx", "qcow2"); // "win.qcow2"
 * ```
 */
export function outputNameFor(name: string, extension: string): string {
  return fitName(stemOf(name), `.${extension}`);
}

/**
 * A failed file's name in `failed/`: `<name>`, or `<id>--<name>` when that is taken, cut so
 * that `<failed>.error.json` and `<failed>.json` fit.
 *
 * @example
 * ```ts
 * failedNameFor("evil.qcow2"); // "evil.qcow2"
 * failedNameFor("evil.qcow2", "m3x9k2ab-4f1c2e"); // "m3x9k2ab-4f1c2e--evil.qcow2"
 * ```
 */
export function failedNameFor(name: string, id?: string): string {
  const prefix = id === undefined ? "" : `${id}--`;
  return prefix + fitKeepingExtension(name, NAME_MAX - bytes(prefix) - bytes(ERROR_SUFFIX));
}

/**
 * Whether a name in `failed/` leaves room for its error file (names journaled by versions
 * that did not cut them may not).
 *
 * @example
 * ```ts
 * fitsFailed("evil.qcow2"); // true
 * ```
 */
export function fitsFailed(name: string): boolean {
  return fits(name, ERROR_SUFFIX);
}

/**
 * The sidecar path beside `path` (`<path>.json`), or undefined when that name would not fit
 * (no such sidecar can exist).
 *
 * @example
 * ```ts
 * sidecarOf("/srv/spool/incoming/qcow2/disk.vmdk"); // "/srv/spool/incoming/qcow2/disk.vmdk.json"
 * ```
 */
export function sidecarOf(path: string): string | undefined {
  return fits(basename(path), SIDECAR_SUFFIX) ? `${path}${SIDECAR_SUFFIX}` : undefined;
}
