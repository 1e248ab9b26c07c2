import { randomBytes } from "node:crypto";
import { extname, join, resolve } from "node:path";
import { NAME_MAX } from "../core/io/file-name.ts";
import { CONTROL_CHARACTERS } from "../core/redact.ts";

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
 * Why `name` is not a plain file name that stays inside the folder it is joined to, or
 * undefined when it is one: not empty, not `.`, at most 255 bytes, no `/` or `\`, no `..`, no
 * control characters (C0, C1), line separators or bidirectional overrides, which would print
 * as something else than the name.
 *
 * @example
 * ```ts
 * nameProblem("disk.vmdk"); // undefined
 * nameProblem("a\u0007.vmdk"); // "it contains control characters"
 * ```
 */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return "it is empty";
  if (name === ".") return "it is '.'";
  if (Buffer.byteLength(name) > NAME_MAX) return `it is longer than ${NAME_MAX} bytes`;
  if (name.includes("..")) return "it contains '..'";
  if (/[/\\]/.test(name)) return "it contains '/' or '\\'";
  if (new RegExp(CONTROL_CHARACTERS.source).test(name))
    return "it contains control characters, line separators or bidirectional overrides";
  return undefined;
}

/**
 * Whether `name` is a plain file name that stays inside the folder it is joined to (see
 * {@link nameProblem}).
 *
 * @example
 * ```ts
 * isSafeName("disk.vmdk"); // true
 * isSafeName("../etc/passwd"); // false
 * ```
 */
export function isSafeName(name: string): boolean {
  return nameProblem(name) === undefined;
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
