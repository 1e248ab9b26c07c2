import { createConsola, type LogObject } from "consola/core";

/**
 * How much the CLI says on stderr: `quiet` only warnings and errors, `normal` also progress and
 * summaries, `verbose` also each stage's and hook's timing.
 *
 * @example
 * ```ts
 * declare const flags: { quiet?: boolean };
 * const verbosity: Verbosity = flags.quiet ? "quiet" : "normal";
 * ```
 */
export type Verbosity = "quiet" | "normal" | "verbose";

const LEVELS: Record<Verbosity, number> = { quiet: 1, normal: 3, verbose: 4 };
const RED = "\x1b[31m";
const YELLOW = "\x1b[33m";
const DIM = "\x1b[2m";
const RESET = "\x1b[39;22m";

let write: (text: string) => void = (text) => process.stderr.write(text);

/**
 * Whether to colour what goes to `stream`: a terminal, unless NO_COLOR is set (not empty) or
 * TERM is `dumb`; FORCE_COLOR (not empty, not `0`) colours a pipe too.
 *
 * @example
 * ```ts
 * if (useColor(process.stderr)) process.stderr.write("\x1b[33mwarning\x1b[39m\n");
 * ```
 */
export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== "0") return true;
  return stream.isTTY === true && env.TERM !== "dumb";
}

/** Colours the label before the first `: ` (`diskpipe:`, `warning:`), or a whole debug line. */
function paint(type: string, line: string): string {
  if (!useColor(process.stderr)) return line;
  if (type === "debug") return `${DIM}${line}${RESET}`;
  const colour = type === "error" || type === "fatal" ? RED : type === "warn" ? YELLOW : undefined;
  const label = line.indexOf(": ");
  return colour && label > 0 ? `${colour}${line.slice(0, label + 1)}${RESET}${line.slice(label + 1)}` : line;
}

/**
 * The CLI's messages (consola, with one reporter writing each message as the one line it is
 * given): `error` for failures (always shown), `warn` for warnings, `info` for summaries and
 * status, `debug` for what `--verbose` adds. Callers write the whole line, labels included
 * (`diskpipe: … [code]`, `warning: …`); on a terminal the label is coloured unless NO_COLOR is set.
 *
 * @example
 * ```ts
 * declare const name: string, text: string;
 * messages.warn(`warning: ${name}: ${text}`);
 * messages.info("3 converted, 0 failed");
 * ```
 */
export const messages = createConsola({
  level: LEVELS.normal,
  throttle: 0,
  reporters: [{ log: (entry: LogObject) => write(`${paint(entry.type, entry.args.map(String).join(" "))}\n`) }],
});

/**
 * Sets how much {@link messages} shows.
 *
 * @example
 * ```ts
 * declare const flags: { quiet?: boolean; verbose?: boolean };
 * setVerbosity(flags.verbose ? "verbose" : flags.quiet ? "quiet" : "normal");
 * ```
 */
export function setVerbosity(verbosity: Verbosity): void {
  messages.level = LEVELS[verbosity];
}

/**
 * Sends message text through `writer` (a live progress display draws it above its bars), or back
 * to stderr when called without one.
 *
 * @example
 * ```ts
 * declare const display: { above(write: () => void): void };
 * routeMessages((text) => display.above(() => process.stderr.write(text)));
 * ```
 */
export function routeMessages(writer?: (text: string) => void): void {
  write = writer ?? ((text) => process.stderr.write(text));
}

/**
 * The verbosity a command's `--quiet` and `--verbose` flags ask for.
 *
 * @example
 * ```ts
 * verbosityOf({ quiet: true }); // "quiet"
 * ```
 */
export function verbosityOf(flags: { quiet?: boolean; verbose?: boolean }): Verbosity {
  return flags.verbose ? "verbose" : flags.quiet ? "quiet" : "normal";
}
