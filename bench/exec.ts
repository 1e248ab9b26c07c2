import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";

/** How one command ran. */
export interface Ran {
  /** Wall time from spawn to exit, in ms. */
  ms: number;
  stdout: string;
  /** Peak resident set of the process itself (VmHWM), in KiB, when asked for. */
  peakKb?: number;
}

/** Options of {@link run}. */
export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Poll /proc/PID/status for VmHWM while the command runs. */
  peakRss?: boolean;
  /** Keep stdout (default: discarded). */
  capture?: boolean;
}

/**
 * Runs one command to completion (no shell) and times it; rejects with its stderr when it
 * exits non-zero.
 *
 * @example
 * ```ts
 * const { ms } = await run("qemu-img", ["convert", "-O", "raw", "-f", "qcow2", "a.qcow2", "a.raw"]);
 * ```
 */
export function run(command: string, args: string[], options: RunOptions = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", options.capture ? "pipe" : "ignore", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => err.push(chunk));
    let peakKb: number | undefined;
    let polling: NodeJS.Timeout | undefined;
    if (options.peakRss && child.pid !== undefined) {
      const status = `/proc/${child.pid}/status`;
      const poll = () =>
        readFile(status, "utf8").then(
          (text) => {
            const kb = Number(/VmHWM:\s+(\d+)/.exec(text)?.[1]);
            if (Number.isFinite(kb)) peakKb = Math.max(peakKb ?? 0, kb);
          },
          () => undefined,
        );
      polling = setInterval(poll, 10);
      void poll();
    }
    child.on("error", (error) => {
      clearInterval(polling);
      reject(error);
    });
    child.on("close", (code, signal) => {
      const ms = performance.now() - started;
      clearInterval(polling);
      if (code !== 0) {
        const text = Buffer.concat(err).toString().trim().split("\n").slice(-5).join("\n");
        reject(new Error(`${command} ${args.join(" ").slice(0, 300)} failed (${signal ?? `exit ${code}`}): ${text}`));
        return;
      }
      resolve({ ms, stdout: Buffer.concat(out).toString(), ...(peakKb !== undefined && { peakKb }) });
    });
  });
}

/**
 * Runs a command and returns its stdout, trimmed (for version probes and the like).
 *
 * @example
 * ```ts
 * await output("uname", ["-r"]); // "6.1.0-18-amd64"
 * ```
 */
export async function output(command: string, args: string[]): Promise<string> {
  return (await run(command, args, { capture: true })).stdout.trim();
}

/**
 * Whether a command is on PATH.
 *
 * @example
 * ```ts
 * if (await has("curl")) …
 * ```
 */
export async function has(command: string): Promise<boolean> {
  return run("sh", ["-c", `command -v ${command}`]).then(
    () => true,
    () => false,
  );
}
