import { randomBytes } from "node:crypto";
import { extname, join, resolve } from "node:path";

/**
 * The folders and files of a spool directory.
 *
 * @example
 * ```ts
 * const layout = spoolLayout("/srv/spool");
 * layout.incoming; // "/srv/spool/incoming"
 * ```
 */
export interface SpoolLayout {
  root: string;
  incoming: string;
  work: string;
  done: string;
  failed: string;
  journal: string;
  lock: string;
}

/**
 * The layout of the spool at `root`.
 *
 * @example
 * ```ts
 * spoolLayout("spool").journal; // "/abs/spool/journal.jsonl"
 * ```
 */
export function spoolLayout(root: string): SpoolLayout {
  const abs = resolve(root);
  return {
    root: abs,
    incoming: join(abs, "incoming"),
    work: join(abs, "work"),
    done: join(abs, "done"),
    failed: join(abs, "failed"),
    journal: join(abs, "journal.jsonl"),
    lock: join(abs, "watch.pid"),
  };
}

/**
 * Whether a name in `incoming/<format>/` is left alone: hidden names, `.part` files still being
 * written, and `.json` sidecars.
 *
 * @example
 * ```ts
 * isIgnoredName(".disk.vmdk.part"); // true
 * isIgnoredName("disk.vmdk"); // false
 * ```
 */
export function isIgnoredName(name: string): boolean {
  return name.startsWith(".") || name.endsWith(".part") || name.endsWith(".json");
}

/**
 * Whether `name` is a plain file name that stays inside the folder it is joined to: no `/` or
 * `\`, no `..`, no control characters, not empty, at most 255 bytes.
 *
 * @example
 * ```ts
 * isSafeName("disk.vmdk"); // true
 * isSafeName("../etc/passwd"); // false
 * ```
 */
export function isSafeName(name: string): boolean {
  return (
    name.length > 0 &&
    Buffer.byteLength(name) <= 255 &&
    name !== "." &&
    name !== ".." &&
    !name.includes("..") &&
    !/[/\\]/.test(name) &&
    // eslint-disable-next-line no-control-regex
    !/[\u0000-\u001f\u007f]/.test(name)
  );
}

/**
 * The name without its last extension (`disk.vmdk` → `disk`; `disk` → `disk`).
 *
 * @example
 * ```ts
 * stemOf("win.vhdx"); // "win"
 * ```
 */
export function stemOf(name: string): string {
  const stem = name.slice(0, name.length - extname(name).length);
  return stem || name;
}

/**
 * A new job id: time-ordered, short, safe in file names and URLs.
 *
 * @example
 * ```ts
 * newJobId(); // "m3x9k2ab-4f1c2e"
 * ```
 */
export function newJobId(): string {
  return `${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
}

/**
 * What a job id looks like; anything else in a URL is refused.
 *
 * @example
 * ```ts
 * JOB_ID.test("m3x9k2ab-4f1c2e"); // true
 * JOB_ID.test("../etc"); // false
 * ```
 */
export const JOB_ID = /^[a-z0-9]{1,16}-[0-9a-f]{6}$/;
