import type { JobEvent } from "../core/job.ts";
import { messages, routeMessages } from "./log.ts";
import { ProgressBoard } from "./progress/board.ts";
import { LineProgress } from "./progress/lines.ts";

/**
 * How the CLI shows progress: live bars on a terminal, plain lines otherwise, nothing at all
 * with `--json` (not even warnings: they are in the JSON results).
 *
 * @example
 * ```ts
 * const mode: ReportMode = reportMode(false);
 * ```
 */
export type ReportMode = "tty" | "lines" | "none";

/**
 * The mode for this process's stderr and flags. `--quiet` takes plain lines, which are info
 * messages its verbosity leaves out: warnings still show.
 *
 * @example
 * ```ts
 * declare const flags: { json?: boolean; quiet?: boolean };
 * reportMode(Boolean(flags.json), Boolean(flags.quiet)); // "tty" in a terminal
 * ```
 */
export function reportMode(json: boolean, quiet = false): ReportMode {
  if (json) return "none";
  return process.stderr.isTTY && !quiet ? "tty" : "lines";
}

/**
 * What a command shows while its jobs run: the progress display of its mode, the jobs'
 * warnings (`warning: NAME: …`) and, with `--verbose`, each stage's and hook's timing.
 *
 * @example
 * ```ts
 * declare const specs: JobSpec[];
 * const reporter = await progressReporter(reportMode(false), specs.length);
 * pipeline.on((event) => reporter.onEvent(event));
 * reporter.above(() => process.stdout.write("converted a -> b\n"));
 * reporter.afterResult();
 * reporter.stop();
 * ```
 */
export interface ProgressReporter {
  onEvent(event: JobEvent): void;
  /** Runs `write` (whole lines to stdout or stderr) without tearing the live bars. */
  above(write: () => void): void;
  /** Call after printing each job's result: a batch's running total off a terminal. */
  afterResult(): void;
  /** Ends the display (the bars are removed); messages go straight to stderr again. */
  stop(): void;
}

/**
 * The {@link ProgressReporter} for `mode` and a batch of `jobs` jobs. On a terminal the display
 * (log-update) is loaded only then, and messages are routed above its bars until `stop`.
 *
 * @example
 * ```ts
 * const reporter = await progressReporter("lines", 3);
 * ```
 */
export async function progressReporter(
  mode: ReportMode,
  jobs: number,
  out: NodeJS.WriteStream = process.stderr,
): Promise<ProgressReporter> {
  const board = new ProgressBoard(jobs);
  const batch = jobs > 1;
  if (mode === "none") return { onEvent: () => {}, above: (write) => write(), afterResult: () => {}, stop: () => {} };
  const lines = mode === "lines" ? new LineProgress(board, batch) : undefined;
  const terminal =
    mode === "tty" ? new (await import("./progress/terminal.ts")).TerminalProgress(board, out, batch) : undefined;
  if (terminal) routeMessages((text) => terminal.above(() => out.write(text)));
  return {
    onEvent(event) {
      const name = board.update(event);
      if (event.type === "warning") messages.warn(`warning: ${name}: ${event.message}`);
      else if (event.type === "stage-end") messages.debug(`${name}: ${event.stage} took ${event.ms.toFixed(0)} ms`);
      else if (event.type === "hook")
        messages.debug(`${name}: ${event.hook} hook of ${event.plugin} took ${event.ms.toFixed(0)} ms`);
      lines?.show(event, name);
    },
    above: (write) => (terminal ? terminal.above(write) : write()),
    afterResult: () => lines?.afterResult(),
    stop() {
      terminal?.stop();
      if (terminal) routeMessages();
    },
  };
}
