import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";

const running = new Set<ChildProcess>();
// Whatever way the bench ends (an error, SIGINT's process.exit), its long-running children end with it.
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/**
 * Starts a long-running child (a worker, redis-server) that is killed when the bench exits.
 *
 * @example
 * ```ts
 * const worker = startChild(process.execPath, ["bin/diskpipe.mjs", "worker"], { stdio: "ignore" });
 * await stopChild(worker);
 * ```
 */
export function startChild(command: string, args: string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, options);
  running.add(child);
  child.once("exit", () => running.delete(child));
  return child;
}

/**
 * Stops a child with SIGTERM and waits for it (SIGKILL after 10 s).
 *
 * @example
 * ```ts
 * await stopChild(worker);
 * ```
 */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Resolves once the child prints a line matching `pattern` (stdout or stderr), or rejects
 * after `ms` or when it exits first.
 *
 * @example
 * ```ts
 * await printed(worker, /taking jobs/, 30_000);
 * ```
 */
export function printed(child: ChildProcess, pattern: RegExp, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = "";
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      if (pattern.test(text)) done(() => resolve());
    };
    const onExit = (code: number | null) =>
      done(() => reject(new Error(`exited (${code}) before printing ${pattern}: ${text.slice(-500)}`)));
    const timer = setTimeout(
      () => done(() => reject(new Error(`no ${pattern} within ${ms} ms: ${text.slice(-500)}`))),
      ms,
    );
    const done = (settle: () => void) => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.stderr?.off("data", onData);
      child.off("exit", onExit);
      settle();
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", onExit);
  });
}
