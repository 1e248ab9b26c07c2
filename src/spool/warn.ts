import { DiskpipeError, isDiskpipeError, toDiskpipeError } from "../core/errors.ts";

/**
 * The stable codes of the warnings the spool emits (process `warning` events of type
 * `DiskpipeWarning`): a failure not recorded yet (retried), a job recovery could not finish at
 * start, a claim that failed, a journal write that failed, the watcher's errors, and leftovers
 * that could not be removed.
 *
 * @example
 * ```ts
 * declare function page(): void; // alert whoever runs the spool
 * process.on("warning", (w) => (w as { code?: SpoolWarningCode }).code === "DISKPIPE_SPOOL_UNRECORDED" && page());
 * ```
 */
export type SpoolWarningCode =
  | "DISKPIPE_SPOOL_UNRECORDED"
  | "DISKPIPE_SPOOL_RECOVERY"
  | "DISKPIPE_SPOOL_CLAIM"
  | "DISKPIPE_SPOOL_JOURNAL"
  | "DISKPIPE_SPOOL_WATCHER"
  | "DISKPIPE_SPOOL_CLEANUP";

/**
 * `text` on one line (line breaks and the blanks around them become one space).
 *
 * @example
 * ```ts
 * oneLine("a\n  b"); // "a b"
 * ```
 */
export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, " ");
}

/**
 * Emits a one-line process warning with a stable code; `error`, when given, is appended with its
 * diskpipe error code (`: EACCES: permission denied, open '…' [io-failed]`).
 *
 * @example
 * ```ts
 * declare const error: unknown; // what the failed step threw
 * warnSpool("DISKPIPE_SPOOL_CLAIM", "cannot claim incoming/qcow2/disk.vmdk", error);
 * ```
 */
export function warnSpool(code: SpoolWarningCode, message: string, error?: unknown): void {
  const failure = error === undefined ? undefined : toDiskpipeError(error);
  const reason = failure ? `: ${failure.message} [${failure.code}]` : "";
  process.emitWarning(oneLine(`spool: ${message}${reason}`), { type: "DiskpipeWarning", code });
}

/**
 * What may escape the spool's start(): a DiskpipeError with a stable code (`usage` or
 * `io-failed`) and a one-line message naming the spool.
 *
 * @example
 * ```ts
 * declare function openJournal(): Promise<void>; // a step of start()
 * try { await openJournal(); } catch (error) { throw startFailure("/srv/spool", error); }
 * ```
 */
export function startFailure(root: string, error: unknown): DiskpipeError {
  if (isDiskpipeError(error) && (error.code === "usage" || error.code === "io-failed") && !/[\r\n]/.test(error.message))
    return error;
  const message = isDiskpipeError(error)
    ? `${error.message} [${error.code}]`
    : error instanceof Error
      ? error.message
      : String(error);
  return new DiskpipeError(
    isDiskpipeError(error) && error.code === "usage" ? "usage" : "io-failed",
    oneLine(`cannot start the spool ${root}: ${message}`),
    { cause: error },
  );
}
