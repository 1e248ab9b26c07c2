import { isDiskpipeError, toDiskpipeError, type DiskpipeError } from "../core/errors.ts";
import { messages } from "./log.ts";

/**
 * Prints an error the way the CLI does (`diskpipe: MESSAGE [CODE]`, one line, no stack unless
 * DEBUG is set; shown even with `--quiet`) and returns the exit code: 1 failure, 2 usage, 3
 * image rejected.
 *
 * @example
 * ```ts
 * declare const error: unknown;
 * process.exitCode = reportFailure(error, false);
 * ```
 */
export function reportFailure(error: unknown, json: boolean): number {
  const failure = toDiskpipeError(error, "io-failed");
  if (json) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: failure.toJSON() })}\n`);
  } else {
    const where = failure.plugin ? ` (${failure.plugin}${failure.hook ? `, ${failure.hook}` : ""})` : "";
    messages.error(`diskpipe: ${failure.message}${where} [${failure.code}]`);
    if (process.env.DEBUG && !isDiskpipeError(error) && error instanceof Error) messages.error(error.stack);
  }
  return failure.exitCode;
}

/**
 * The exit code of a batch: 0 when every job succeeded, 3 when every failure was a rejected
 * image, else the first other failure's code.
 *
 * @example
 * ```ts
 * declare const rejected: DiskpipeError, unreachable: DiskpipeError; // exit codes 3 and 1
 * batchExitCode([rejected, unreachable]); // 1
 * ```
 */
export function batchExitCode(failures: readonly DiskpipeError[]): number {
  if (failures.length === 0) return 0;
  return failures.every((f) => f.exitCode === 3) ? 3 : (failures.find((f) => f.exitCode !== 3)?.exitCode ?? 1);
}
