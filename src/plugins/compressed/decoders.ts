import { createReadStream, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { DiskpipeError, findProgram, spawnFilter, type FilterProcess, type QemuLimits } from "../../plugin-api.ts";
import type { Kind } from "./detect.ts";
import { Refusal } from "./refusal.ts";

/** A decoder's CPU-time and address-space bounds (prlimit): the same kind of bounds as qemu-img's. */
export type DecoderLimits = QemuLimits;

/**
 * How each command-line decoder is run: the program (found on PATH unless a path is given),
 * its arguments, and the Debian package that installs it. Its own memory bound keeps a
 * stream that asks for a huge dictionary or window from growing into the address-space limit.
 *
 * @example
 * ```ts
 * TOOLS.xz.package; // "xz-utils"
 * ```
 */
export const TOOLS = {
  // -T0: a stream written in several blocks (by a threaded xz) is decoded on every core; one block as before.
  xz: { program: "xz", args: ["-d", "-c", "-q", "-T0", "--memlimit-decompress=1GiB"], package: "xz-utils" },
  zst: { program: "zstd", args: ["-d", "-c", "-q", "--memory=1024MB"], package: "zstd" },
  bz2: { program: "bzip2", args: ["-d", "-c"], package: "bzip2" },
} as const;

/**
 * A running decompression: the decoded bytes, and the decoder's pid when it is a process.
 * Iterating `output` to its end also checks that the decoder succeeded (a failure throws).
 *
 * @example
 * ```ts
 * declare const decoder: Decoder;
 * for await (const chunk of decoder.output) console.log(chunk.length);
 * ```
 */
export interface Decoder {
  output: AsyncIterable<Uint8Array>;
  pid?: number;
  /** Stops decoding at once (kills the process). */
  stop(): void;
  /** Settles when the decoder has ended (its process has exited). */
  ended: Promise<unknown>;
}

/**
 * The compressed bytes: a local file (a tool reads it itself) or a stream (a download).
 *
 * @example
 * ```ts
 * const input: CompressedInput = { file: "/var/tmp/diskpipe/job/disk.qcow2.xz" };
 * ```
 */
export type CompressedInput = { file: string } | AsyncIterable<Uint8Array>;

/**
 * Starts decoding `input` (the compressed bytes) of `kind`: gzip in-process with node:zlib,
 * xz, zstd and bzip2 with their command-line tools (`xz -dc`, `zstd -dc`, `bzip2 -dc`) under
 * `limits`, killed with `signal`; a tar passes through as it is. `onRead` is told how many
 * compressed bytes were read so far. A missing tool is a `config-invalid` error naming its package.
 *
 * @example
 * ```ts
 * const decoder = await openDecoder("xz", { file: "disk.raw.xz" }, { limits: { cpuSeconds: 600, addressSpace: 2 ** 31 } });
 * ```
 */
export async function openDecoder(
  kind: Kind,
  input: CompressedInput,
  options: {
    limits: DecoderLimits;
    signal?: AbortSignal;
    programs?: Partial<Record<"xz" | "zst" | "bz2", string>>;
    onRead?: (bytes: number) => void;
  },
): Promise<Decoder> {
  const onRead = options.onRead ?? (() => undefined);
  if (kind === "tar" || kind === "gz") {
    const source = Readable.from(
      counted("file" in input ? createReadStream(input.file, { highWaterMark: 1 << 20 }) : input, onRead),
    );
    if (kind === "tar") return { output: source, stop: () => source.destroy(), ended: Promise.resolve() };
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    // A failure on either side reaches the reader of the output through gunzip.
    pipeline(source, gunzip).catch(() => undefined);
    return {
      output: checkedGunzip(gunzip),
      stop: () => (source.destroy(), gunzip.destroy()),
      ended: Promise.resolve(),
    };
  }
  const tool = TOOLS[kind];
  const program = programPath(options.programs?.[kind] ?? tool.program, tool.package);
  const stdin = "file" in input ? input : counted(input, onRead);
  const filter = await spawnFilter(program, [...tool.args], {
    input: stdin,
    limits: options.limits,
    ...(options.signal && { signal: options.signal }),
  });
  const pid = filter.pid;
  const watching = "file" in input && pid !== undefined;
  const stopWatching = watching ? watchPosition(pid, onRead) : () => undefined;
  const ended = filter.finished.finally(stopWatching);
  ended.catch(() => undefined);
  const stop = () => {
    // Where the tool had got to in the file, read once more before it is killed.
    if (watching) positionNow(pid, onRead);
    filter.kill();
  };
  return { output: checkedFilter(filter, kind), ...(pid !== undefined && { pid }), stop, ended };
}

async function* counted(input: AsyncIterable<Uint8Array>, onRead: (bytes: number) => void): AsyncGenerator<Uint8Array> {
  let read = 0;
  for await (const chunk of input) {
    read += chunk.length;
    onRead(read);
    yield chunk;
  }
}

/**
 * Watches how far a process has read its stdin (a file): its offset, from /proc, four times a
 * second. Returns the function that stops watching.
 *
 * @example
 * ```ts
 * const stop = watchPosition(1234, (bytes) => console.log(bytes));
 * stop();
 * ```
 */
export function watchPosition(pid: number, onRead: (bytes: number) => void): () => void {
  const timer = setInterval(() => {
    readFile(`/proc/${pid}/fdinfo/0`, "utf8").then(
      (info) => reportPosition(info, onRead),
      () => undefined,
    );
  }, 250);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Reads once how far a process has read its stdin (before it is killed).
 *
 * @example
 * ```ts
 * positionNow(1234, (bytes) => console.log(bytes));
 * ```
 */
export function positionNow(pid: number, onRead: (bytes: number) => void): void {
  try {
    reportPosition(readFileSync(`/proc/${pid}/fdinfo/0`, "utf8"), onRead);
  } catch {
    // It has ended already (or there is no /proc): the last position stands.
  }
}

function reportPosition(info: string, onRead: (bytes: number) => void): void {
  const pos = /^pos:\s+(\d+)/m.exec(info);
  if (pos) onRead(Number(pos[1]));
}

async function* checkedGunzip(gunzip: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    yield* gunzip;
  } catch (error) {
    const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
    if (code === "Z_BUF_ERROR") throw new Refusal("truncated", "the gzip stream is cut short");
    if (typeof code === "string" && code.startsWith("Z_"))
      throw new Refusal("compressed-corrupt", `the gzip stream is corrupt: ${String(message)}`);
    throw error;
  }
}

async function* checkedFilter(filter: FilterProcess, kind: "xz" | "zst" | "bz2"): AsyncGenerator<Uint8Array> {
  yield* filter.stdout;
  const run = await filter.finished;
  if (run.exitCode !== 0) throw exitFailure(run, kind);
}

/**
 * Why a decoder that did not exit with 0 failed: it could not start (`plugin-failed`), it was
 * stopped (`aborted`), killed by its CPU or memory limit (`decoder-limit`), or its complaint
 * (see {@link failure}).
 *
 * @example
 * ```ts
 * declare const filter: FilterProcess;
 * const run = await filter.finished;
 * if (run.exitCode !== 0) throw exitFailure(run, "zst");
 * ```
 */
export function exitFailure(run: Awaited<FilterProcess["finished"]>, kind: "xz" | "zst" | "bz2"): Error {
  const program = TOOLS[kind].program;
  // The wrappers (prlimit, setpriv) exit 126 or 127 when they cannot run the tool; the tools themselves use 1 to 4.
  if (run.error || run.exitCode === 126 || run.exitCode === 127) {
    const why = run.error?.message ?? run.stderr.trim().split("\n").at(-1);
    return new DiskpipeError("plugin-failed", `${program} could not be started: ${why || `exit code ${run.exitCode}`}`);
  }
  if (run.canceled) return new DiskpipeError("aborted", `${program} was stopped: the job was aborted`);
  if (run.signal === "SIGXCPU" || run.signal === "SIGKILL") {
    return new Refusal("decoder-limit", `${program} was killed by its resource limit (${run.signal})`);
  }
  return failure(kind, run.stderr);
}

/**
 * What a decoder's complaint means: a stream cut short (`truncated`), a limit the stream asks
 * to pass (`decoder-limit`), otherwise corrupt data (`compressed-corrupt`); one line, from the
 * tool's last message.
 *
 * @example
 * ```ts
 * failure("xz", "xz: (stdin): Unexpected end of input\n").code; // "truncated"
 * ```
 */
export function failure(kind: "xz" | "zst" | "bz2", stderr: string): Refusal {
  const program = TOOLS[kind].program;
  // The tool's first line naming itself says what went wrong (bzip2 adds paragraphs of advice).
  const lines = stderr
    .split("\n")
    .map((line) => line.replace(/\s+/g, " ").trim())
    .filter(Boolean);
  const line = (lines.find((l) => l.startsWith(`${program}:`)) ?? lines[0] ?? "").slice(0, 300);
  const said = line ? `: ${line}` : "";
  if (/unexpected end|ends unexpectedly|premature end|truncated|end of file/i.test(stderr))
    return new Refusal("truncated", `the ${kind} stream is cut short${said}`);
  if (/memory usage limit|memlimit|requires too much memory|window size|cannot allocate/i.test(stderr)) {
    return new Refusal("decoder-limit", `${program} refused the stream's memory needs${said}`);
  }
  return new Refusal("compressed-corrupt", `the ${kind} stream is corrupt${said}`);
}

/**
 * The tool's path: as configured when a path, else looked up on PATH; missing: config-invalid.
 *
 * @example
 * ```ts
 * programPath("zstd", "zstd"); // "/usr/bin/zstd"
 * ```
 */
export function programPath(name: string, pkg: string): string {
  const found = findProgram(name);
  if (found) return found;
  throw new DiskpipeError(
    "config-invalid",
    `${name} was not found: install the ${pkg} package (apt-get install ${pkg}) to decompress these images`,
  );
}

/**
 * CPU time and address space for a decoder: as configured, else 2 GiB and a minute plus a
 * second per 16 MiB the output may reach (a day when nothing bounds it).
 *
 * @example
 * ```ts
 * decoderLimits(64 * 2 ** 20); // { cpuSeconds: 64, addressSpace: 2147483648 }
 * ```
 */
export function decoderLimits(allowed: number, given: Partial<DecoderLimits> = {}): DecoderLimits {
  const cpu = Number.isFinite(allowed) ? 60 + Math.ceil(allowed / (16 * 2 ** 20)) : 24 * 3600;
  return { cpuSeconds: given.cpuSeconds ?? cpu, addressSpace: given.addressSpace ?? 2 * 2 ** 30 };
}
