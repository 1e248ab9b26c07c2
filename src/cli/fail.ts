import { isDiskpipeError, toDiskpipeError } from "../core/errors.ts";

/**
 * Prints an error the way the CLI does (one line, no stack unless DEBUG is set) and returns
 * the exit code: 1 failure, 2 usage, 3 image rejected.
 *
 * @example
 * ```ts
 * process.exitCode = reportFailure(error, false);
 * ```
 */
export function reportFailure(error: unknown, json: boolean): number {
  const failure = toDiskpipeError(error, "io-failed");
  if (json) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: failure.toJSON() })}\n`);
  } else {
    const where = failure.plugin ? ` (${failure.plugin}${failure.hook ? `, ${failure.hook}` : ""})` : "";
    process.stderr.write(`diskpipe: ${failure.message}${where} [${failure.code}]\n`);
    if (process.env.DEBUG && !isDiskpipeError(error) && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  }
  return failure.exitCode;
}
