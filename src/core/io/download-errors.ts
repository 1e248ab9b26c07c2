import { dirname } from "node:path";
import { DiskpipeError, isDiskpipeError } from "../errors.ts";
import { formatDuration, formatSize } from "../size.ts";
import type { GrowingFile } from "./growing-file.ts";
import { HttpStatusError, redactUrl } from "./http.ts";

/**
 * The error of a download that ran past its deadline (`fetch.deadlineMs`).
 *
 * @example
 * ```ts
 * late(new URL("https://h/img.qcow2"), 60_000).message; // "GET https://h/img.qcow2 did not finish within 1 min …"
 * ```
 */
export function late(url: URL, ms: number): DiskpipeError {
  return new DiskpipeError(
    "fetch-failed",
    `GET ${redactUrl(url)} did not finish within ${formatDuration(ms)} (fetch.deadlineMs)`,
  );
}

/**
 * The error of a resource whose bytes or length changed between two answers.
 *
 * @example
 * ```ts
 * throw changed(new URL("https://h/img.qcow2"));
 * ```
 */
export function changed(url: URL): DiskpipeError {
  return new DiskpipeError("fetch-failed", `${redactUrl(url)} changed while it was being downloaded`);
}

/**
 * A full disk during a download as `no-space`, saying where and how much was written; any
 * other error as it is.
 *
 * @example
 * ```ts
 * declare const error: unknown, file: GrowingFile;
 * throw spaceError(error, file, 2 ** 30, new URL("https://h/img.raw"));
 * ```
 */
export function spaceError(error: unknown, file: GrowingFile, total: number | undefined, url: URL): unknown {
  if ((error as { code?: string } | null)?.code !== "ENOSPC") return error;
  const of = total === undefined ? "" : ` of ${formatSize(total)}`;
  const written = `${formatSize(file.written)}${of} written`;
  return new DiskpipeError(
    "no-space",
    `no space left in ${dirname(file.path)} while downloading ${redactUrl(url)}: ${written}`,
    { cause: error },
  );
}

/**
 * The `fetch-failed` error of a download that gave up: the HTTP status or the network error,
 * where it stopped, and how many attempts it made.
 *
 * @example
 * ```ts
 * declare const error: unknown, file: GrowingFile;
 * throw fetchError(error, new URL("https://h/img.raw"), file, 3);
 * ```
 */
export function fetchError(error: unknown, url: URL, file: GrowingFile, failures: number): DiskpipeError {
  if (isDiskpipeError(error)) return error;
  const tries = failures > 0 ? ` (after ${failures + 1} attempts)` : "";
  const where = file.written > 0 ? ` at byte ${file.written}` : "";
  const message =
    error instanceof HttpStatusError ? error.message : `GET ${redactUrl(url)} failed${where}: ${describe(error)}`;
  return new DiskpipeError("fetch-failed", `${message}${tries}`, { cause: error });
}

/**
 * A network error in one line: its message, and its code when the message lacks it.
 *
 * @example
 * ```ts
 * describe(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })); // "socket hang up (ECONNRESET)"
 * ```
 */
export function describe(error: unknown): string {
  const code = (error as { code?: string } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}
