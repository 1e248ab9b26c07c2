import { DiskpipeError, type ErrorCode } from "../core/errors.ts";
import { boundedText } from "./redis-values.ts";

/** Codes a job is tried again for (transport and I/O): anything else fails it at once. */
export const RETRIED_CODES: readonly ErrorCode[] = ["fetch-failed", "upload-failed", "io-failed", "no-space"];

const CODES: readonly ErrorCode[] = [
  "image-rejected",
  "format-mismatch",
  "checksum-mismatch",
  "no-space",
  "qemu-img-missing",
  "qemu-img-failed",
  "fetch-failed",
  "upload-failed",
  "usage",
  "config-invalid",
  "plugin-failed",
  "io-failed",
  "aborted",
  "queue-unavailable",
  "verify-failed",
];

/**
 * The reason BullMQ stores for a failed job: the error's one-line message and its code, as
 * the CLI prints them (`MESSAGE [CODE]`).
 *
 * @example
 * ```ts
 * failedReasonOf(new DiskpipeError("fetch-failed", "GET https://h/a: 503")); // "GET https://h/a: 503 [fetch-failed]"
 * ```
 */
export function failedReasonOf(error: DiskpipeError): string {
  const where = error.plugin ? ` (${error.plugin}${error.hook ? `, ${error.hook}` : ""})` : "";
  return `${error.message}${where} [${error.code}]`;
}

/**
 * The error a failed job's reason stands for: its code (`io-failed` when the reason carries
 * none, e.g. a worker of another program failed it) and its message, made safe to print.
 *
 * @example
 * ```ts
 * failureOf("disk.qcow2 rejected: … [image-rejected]").exitCode; // 3
 * ```
 */
export function failureOf(reason: string | undefined): DiskpipeError {
  const text = reason ?? "the job failed without a reason";
  const match = /^([\s\S]*) \[([a-z-]+)\]$/.exec(text);
  const code = CODES.find((known) => known === match?.[2]);
  if (!match || !code) return new DiskpipeError("io-failed", boundedText(text));
  // Stryker disable next-line StringLiteral: the group ([\s\S]*) of a match is always a string (maybe empty), never undefined
  return new DiskpipeError(code, boundedText(match[1] ?? ""));
}
