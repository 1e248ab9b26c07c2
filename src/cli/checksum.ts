import { constants } from "node:os";
import { DiskpipeError, toDiskpipeError } from "../core/errors.ts";
import { escapeControl } from "../core/redact.ts";
import { parseSize } from "../core/size.ts";
import { batchExitCode, reportFailure } from "./fail.ts";
import { openPipeline, type GlobalOptions } from "./pipeline.ts";

/** Flags of `diskpipe checksum`. */
export interface ChecksumFlags extends GlobalOptions {
  format?: string;
  maxSize?: string;
}

const STOP_SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/**
 * `diskpipe checksum`: the content hash of each image, one line `blk-sha256:… IMAGE` (or a JSON
 * object `{ file, format, virtualSize, contentHash, ms }` per line with `--json`). Every image
 * is inspected natively first; a refused one is reported as an error (exit 3) and the others
 * are still hashed.
 *
 * @example
 * ```ts
 * process.exitCode = await runChecksum(["disk.qcow2", "disk.raw"], { json: true });
 * ```
 */
export async function runChecksum(files: string[], flags: ChecksumFlags): Promise<number> {
  const pipeline = await openPipeline(flags);
  const abort = new AbortController();
  let received: NodeJS.Signals | undefined;
  const stop = (signal: NodeJS.Signals) => {
    if (received) process.exit(128 + constants.signals[signal]);
    received = signal;
    abort.abort(new DiskpipeError("aborted", `interrupted by ${signal}`));
  };
  for (const name of STOP_SIGNALS) process.on(name, stop);
  const failures: DiskpipeError[] = [];
  try {
    for (const file of files) {
      if (received) break;
      const started = performance.now();
      try {
        const { inspection, contentHash } = await pipeline.contentHash(file, {
          ...(flags.format && { claimed: flags.format }),
          ...(flags.maxSize && { maxSize: parseSize(flags.maxSize) }),
          signal: abort.signal,
        });
        const ms = Math.round(performance.now() - started);
        const { format, virtualSize } = inspection;
        process.stdout.write(
          flags.json
            ? `${JSON.stringify({ file: escapeControl(file), format, virtualSize, contentHash, ms })}\n`
            : `${contentHash} ${escapeControl(file)}\n`,
        );
      } catch (error) {
        const failure = toDiskpipeError(error, "io-failed");
        reportFailure(failure, Boolean(flags.json));
        failures.push(failure);
      }
    }
  } finally {
    for (const name of STOP_SIGNALS) process.off(name, stop);
  }
  if (received) return 128 + constants.signals[received];
  return batchExitCode(failures);
}
