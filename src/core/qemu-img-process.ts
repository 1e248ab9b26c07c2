import { existsSync } from "node:fs";
import { open } from "node:fs/promises";
import type { Options } from "execa";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { DiskpipeError } from "./errors.ts";
import { prlimit, type QemuLimits } from "./qemu-img-args.ts";

const INSTALL_HINT =
  "qemu-img was not found: install it with `apt-get install qemu-utils` (Debian/Ubuntu) or set qemuImg.binary in the configuration";

/**
 * The command run so that it dies with diskpipe: `setpriv --pdeathsig KILL` asks the kernel to
 * kill it when its parent goes, even by SIGKILL (setpriv, prlimit and the wrappers exec in
 * place, so the setting reaches qemu-img). Without setpriv (util-linux), the command as is.
 *
 * @example
 * ```ts
 * const [file, args] = tiedToParent("qemu-img", ["info", "disk.vmdk"]); // ["/usr/bin/setpriv", ["--pdeathsig", "KILL", "--", "qemu-img", …]]
 * ```
 */
export function tiedToParent(file: string, args: string[]): [string, string[]] {
  const setpriv = setprivPath();
  return setpriv ? [setpriv, ["--pdeathsig", "KILL", "--", file, ...args]] : [file, args];
}

let setprivFound: string | null | undefined;
function setprivPath(): string | undefined {
  setprivFound ??= ["/usr/bin/setpriv", "/bin/setpriv", "/usr/sbin/setpriv"].find((path) => existsSync(path)) ?? null;
  return setprivFound ?? undefined;
}

/** How a child process ended. */
export interface Finished {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Killed because the caller's signal aborted. */
  canceled: boolean;
  /** The spawn itself failed (ENOENT…). */
  error?: NodeJS.ErrnoException;
}

/** Output kept per stream: qemu-img prints little; more than this is a failure. */
const MAX_OUTPUT = 16 * 1024 * 1024;
const KILL_GRACE_MS = 5000;

/**
 * Runs one child with execa: cancelled by `signal` (SIGTERM, then SIGKILL after a grace
 * period), killed if diskpipe exits first, stdout optionally streamed to `onStdout`.
 *
 * @example
 * ```ts
 * const run = await runChild("qemu-img", ["info", "--output=json", "disk.qcow2"], AbortSignal.timeout(30_000));
 * console.log(check(run, "info").stdout);
 * ```
 */
export async function runChild(
  file: string,
  args: string[],
  signal?: AbortSignal,
  onStdout?: (chunk: Buffer) => void,
): Promise<Finished> {
  if (signal?.aborted) return { stdout: "", stderr: "", exitCode: null, signal: null, canceled: true };
  const { execa } = await import("execa");
  const child = execa(file, args, {
    reject: false,
    stdin: "ignore",
    // Two malloc arenas: qemu-img's worker threads otherwise reserve 64 MiB of address space each, which the address-space limit counts.
    env: { LC_ALL: "C", MALLOC_ARENA_MAX: "2" },
    maxBuffer: MAX_OUTPUT,
    forceKillAfterDelay: KILL_GRACE_MS,
    ...(signal && { cancelSignal: signal }),
  });
  if (onStdout) child.stdout?.on("data", onStdout);
  const result = await child;
  const cause = result.cause as NodeJS.ErrnoException | undefined;
  return {
    stdout: String(result.stdout ?? ""),
    stderr: String(result.stderr ?? ""),
    exitCode: result.exitCode ?? null,
    signal: (result.signal as NodeJS.Signals | undefined) ?? null,
    canceled: result.isCanceled,
    ...(cause?.code && cause.syscall?.startsWith("spawn") && { error: cause }),
  };
}

/**
 * Throws the DiskpipeError a failed run means; returns the run otherwise.
 *
 * @example
 * ```ts
 * const { stdout } = check(await runChild("qemu-img", ["--version"]), "--version"); // qemu-img-missing when not installed
 * ```
 */
export function check(result: Finished, command: string | undefined): Finished {
  if (result.canceled) throw new DiskpipeError("aborted", `qemu-img ${command} was aborted`);
  const missing =
    result.error?.code === "ENOENT" || (result.exitCode === 127 && /No such file|not found/.test(result.stderr));
  if (missing) throw new DiskpipeError("qemu-img-missing", INSTALL_HINT);
  if (result.error)
    throw new DiskpipeError("qemu-img-failed", `qemu-img ${command} could not start: ${result.error.message}`);
  if (result.exitCode !== 0) {
    const killedByLimit = result.signal === "SIGKILL" || result.signal === "SIGXCPU";
    const why = killedByLimit
      ? `killed by its resource limit (${result.signal})`
      : result.stderr.trim().split("\n").slice(-3).join(" ");
    const code = /No space left on device/i.test(result.stderr) ? "no-space" : "qemu-img-failed";
    throw new DiskpipeError(
      code,
      `qemu-img ${command} failed: ${why || (result.signal ? `killed by ${result.signal}` : `exit code ${result.exitCode}`)}`,
    );
  }
  return result;
}

/**
 * A filter process a plugin runs (a decompressor): its stdin fed from a stream, its stdout
 * read as one.
 *
 * @example
 * ```ts
 * declare const filter: FilterProcess;
 * for await (const chunk of filter.stdout) console.log(chunk.length);
 * const { exitCode, stderr } = await filter.finished;
 * ```
 */
export interface FilterProcess {
  /** The process id (the command's own: the wrappers exec in place). */
  pid: number | undefined;
  stdout: AsyncIterable<Uint8Array>;
  /** How it ended; `stdout` of the result is empty, `stderr` its last 4 KiB. */
  finished: Promise<Finished>;
  /** Kills it at once (SIGKILL); safe to call after it ended. */
  kill(): void;
}

const STDERR_TAIL = 4096;

/**
 * Starts `file args` as a filter: stdin from `input` (a stream, or a file the process reads
 * itself: `{ file }`, no copy through diskpipe), stdout as a stream (or `output`, a new file
 * created owner-only that the process writes itself; the caller removes it), under CPU-time,
 * address-space and file-size limits (`prlimit`), killed with diskpipe (`setpriv --pdeathsig`) and when
 * `signal` aborts. The only other process diskpipe starts besides qemu-img; for plugins that
 * decode with a command-line tool (exported by the plugin kit).
 *
 * @example
 * ```ts
 * import { createReadStream } from "node:fs";
 * const xz = await spawnFilter("xz", ["-dc"], { input: createReadStream("disk.raw.xz"), limits: { cpuSeconds: 600, addressSpace: 2 ** 30 } });
 * for await (const chunk of xz.stdout) process.stdout.write(chunk);
 * ```
 */
export async function spawnFilter(
  file: string,
  args: string[],
  options: {
    input: AsyncIterable<Uint8Array> | { file: string };
    output?: { file: string };
    limits: QemuLimits;
    signal?: AbortSignal;
  },
): Promise<FilterProcess> {
  const { execa } = await import("execa");
  const [command, ...flags] = prlimit(options.limits);
  const { input, output } = options;
  // A file is the process's stdin itself (its reads move the shared offset, /proc/PID/fdinfo/0 shows them).
  const stdinFile = "file" in input ? await open(input.file, "r") : undefined;
  const stdoutFile = output
    ? await open(output.file, "wx", 0o600).catch(async (error: unknown) => {
        await stdinFile?.close();
        throw error;
      })
    : undefined;
  // execa takes a descriptor number for stdin at run time ("fileNumber"); its types list only 3 to 9.
  const stdin = (stdinFile ? stdinFile.fd : "pipe") as Options["stdin"];
  const stdout = (stdoutFile ? stdoutFile.fd : "pipe") as Options["stdout"];
  const child = execa(...tiedToParent(command, [...flags, file, ...args]), {
    reject: false,
    stdin,
    stdout,
    buffer: false,
    env: { LC_ALL: "C" },
    forceKillAfterDelay: KILL_GRACE_MS,
    ...(options.signal && { cancelSignal: options.signal }),
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString("utf8")).slice(-STDERR_TAIL)));
  // A filter that exits early (killed, or failing) closes its stdin: the write error is its exit's consequence.
  if (child.stdin && !("file" in input)) pipeline(Readable.from(input), child.stdin).catch(() => undefined);
  // execa spawns after this call returns: the descriptor stays open until the process has ended.
  const finished = child
    .finally(() => Promise.all([stdinFile?.close(), stdoutFile?.close()]))
    .then((result) => {
      const cause = result.cause as NodeJS.ErrnoException | undefined;
      return {
        stdout: "",
        stderr,
        exitCode: result.exitCode ?? null,
        signal: (result.signal as NodeJS.Signals | undefined) ?? null,
        canceled: result.isCanceled,
        ...(cause?.code && cause.syscall?.startsWith("spawn") && { error: cause }),
      };
    });
  return {
    pid: child.pid,
    stdout: child.stdout ?? Readable.from([]),
    finished,
    kill: () => void child.kill("SIGKILL"),
  };
}
