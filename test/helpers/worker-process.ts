import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "./cli.ts";

/** A `diskpipe worker` (or any diskpipe command) running as a child process, its output collected. */
export interface RunningCommand {
  child: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves when a line of stdout or stderr matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** The exit code (or the signal's name) once the process ended. */
  exited: Promise<number | string>;
}

/**
 * Starts the built `diskpipe` with `args`, without a terminal.
 *
 * @example
 * ```ts
 * const worker = startDiskpipe(["worker", "--queue", url, "--json"]);
 * await worker.waitFor(/taking jobs/);
 * ```
 */
export function startDiskpipe(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): RunningCommand {
  const child = spawn(process.execPath, [join(repoRoot, "bin", "diskpipe.mjs"), ...args], {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  const check = () => {
    for (const waiter of [...waiters]) {
      const line = `${out}\n${err}`.split("\n").find((l) => waiter.pattern.test(l));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  };
  child.stdout?.on("data", (chunk: Buffer) => ((out += chunk), check()));
  child.stderr?.on("data", (chunk: Buffer) => ((err += chunk), check()));
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? signal ?? -1)),
  );
  return {
    child,
    pid: child.pid ?? 0,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; stdout: ${out}\nstderr: ${err}`)),
          timeoutMs,
        );
        waiters.push({ pattern, resolve: (line) => (clearTimeout(timer), resolve(line)) });
        check();
      });
    },
  };
}

/** Ends every command still running with `signal` and waits until all have exited. */
export async function stopAll(commands: readonly RunningCommand[], signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  for (const command of commands) if (command.child.exitCode === null) command.child.kill(signal);
  await Promise.all(commands.map((command) => command.exited));
}
