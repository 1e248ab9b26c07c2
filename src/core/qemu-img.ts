import { existsSync } from "node:fs";
import type { z } from "zod";
import { DiskpipeError } from "./errors.ts";
import { lazy, zod } from "./lazy-zod.ts";
import type { ConvertPlan, PlanImage, QemuSecret } from "./job.ts";

/** Resource limits for qemu-img calls that parse headers (`info`, `measure`). */
export interface QemuLimits {
  /** CPU seconds (prlimit --cpu). */
  cpuSeconds: number;
  /** Address space in bytes (prlimit --as). */
  addressSpace: number;
}

/** Options of the adapter. */
export interface QemuImgOptions {
  /** The qemu-img binary (default: "qemu-img" on PATH). */
  binary?: string;
  limits?: Partial<QemuLimits>;
  /**
   * A command prefix for conversions (a throttle: `systemd-run --scope -p IO…BandwidthMax=…`,
   * `ionice -c 3`), built from the paths a conversion reads and writes. The prefix must exec
   * qemu-img in place so cancelling still reaches it.
   */
  wrapper?: (paths: { input: string; output: string }) => string[];
}

/** The subset of `qemu-img info --output=json` diskpipe relies on, validated (zod, built on first use). */
export const qemuInfoSchema = lazy(() => {
  const z = zod();
  return z.looseObject({
    format: z.string(),
    "virtual-size": z.number().int().nonnegative(),
    "actual-size": z.number().int().nonnegative().optional(),
    "backing-filename": z.string().optional(),
    "full-backing-filename": z.string().optional(),
    "dirty-flag": z.boolean().optional(),
    "format-specific": z
      .looseObject({
        type: z.string(),
        data: z.looseObject({ "data-file": z.string().optional(), "create-type": z.string().optional() }).optional(),
      })
      .optional(),
  });
});

/** qemu-img's view of one image. */
export type QemuInfo = z.infer<ReturnType<typeof qemuInfoSchema>>;

const measureSchema = lazy(() => zod().looseObject({ required: zod().number().int().nonnegative(), "fully-allocated": zod().number().int().nonnegative() }));

const mapSchema = lazy(() => {
  const z = zod();
  return z.array(z.looseObject({ start: z.number().int().nonnegative(), length: z.number().int().nonnegative(), data: z.boolean(), zero: z.boolean() }));
});

/**
 * One extent of `qemu-img map --output=json`: `data` false means a hole (reads as zeroes
 * without being stored).
 *
 * @example
 * ```ts
 * const extent: QemuExtent = { start: 0, length: 8388608, data: true, zero: false };
 * ```
 */
export interface QemuExtent {
  start: number;
  length: number;
  data: boolean;
  zero: boolean;
}

/** Sizes `qemu-img measure` reports for a conversion. */
export interface QemuMeasure {
  required: number;
  fullyAllocated: number;
}

/** Options of one conversion run. */
export interface ConvertRun {
  /** Called with the percentage qemu-img reports. */
  onProgress?: (percent: number) => void;
  signal?: AbortSignal;
}

const DEFAULT_LIMITS: QemuLimits = { cpuSeconds: 8, addressSpace: 1024 ** 3 };
/** A conversion's limits when its plan sets none: a minute of CPU, 2 GiB of address space. */
const DEFAULT_CONVERT_LIMITS: QemuLimits = { cpuSeconds: 60, addressSpace: 2 * 1024 ** 3 };

/** `prlimit --cpu=S --as=B --`: the prefix that runs a command under CPU-time and address-space limits (fractions of a second round up). */
function prlimit(limits: QemuLimits): string[] {
  return ["prlimit", `--cpu=${Math.max(1, Math.ceil(limits.cpuSeconds))}`, `--as=${Math.floor(limits.addressSpace)}`, "--"];
}
/** Attempts of a conversion whose LUKS key-derivation timing failed (see `convert`). */
const PBKDF_TRIES = 8;

const INSTALL_HINT = "qemu-img was not found: install it with `apt-get install qemu-utils` (Debian/Ubuntu) or set qemuImg.binary in the configuration";

/** Escapes a value for qemu's comma-separated option syntax. */
export function qemuOptionValue(value: string | number | boolean): string {
  const text = typeof value === "boolean" ? (value ? "on" : "off") : String(value);
  return text.replaceAll(",", ",,");
}

function optionList(options: Record<string, string | number | boolean>): string {
  return Object.entries(options)
    .map(([key, value]) => `${key}=${qemuOptionValue(value)}`)
    .join(",");
}

function secretArgs(secrets: QemuSecret[]): string[] {
  return secrets.flatMap((s) => ["--object", `secret,id=${s.id},file=${qemuOptionValue(s.file)},format=raw`]);
}

/** argv naming a source image: `-f DRIVER PATH`, or `--image-opts` when driver options are set. */
function sourceArgs(image: PlanImage): { flags: string[]; name: string } {
  if (Object.keys(image.options).length === 0) return { flags: ["-f", image.driver], name: image.path };
  return { flags: ["--image-opts"], name: optionList({ driver: image.driver, ...image.options, "file.filename": image.path }) };
}

/**
 * The only place in diskpipe that runs qemu-img: builds argv, runs it (under resource limits
 * for header parsing), validates its output and reports progress. It spawns through execa,
 * imported on first use, so commands that never run qemu-img (inspect, --help) do not pay for it.
 *
 * @example
 * ```ts
 * const qemu = new QemuImg();
 * const info = await qemu.info({ path: "disk.qcow2", format: "qcow2", driver: "qcow2", options: {} });
 * console.log(info["virtual-size"]);
 * ```
 */
export class QemuImg {
  readonly binary: string;
  readonly limits: QemuLimits;
  readonly #wrapper: QemuImgOptions["wrapper"];
  #version: Promise<string> | undefined;

  constructor(options: QemuImgOptions = {}) {
    this.binary = options.binary ?? "qemu-img";
    this.#wrapper = options.wrapper;
    this.limits = {
      cpuSeconds: options.limits?.cpuSeconds ?? DEFAULT_LIMITS.cpuSeconds,
      addressSpace: options.limits?.addressSpace ?? DEFAULT_LIMITS.addressSpace,
    };
  }

  /** The qemu-img version ("7.2.22"), detected once and cached. */
  version(): Promise<string> {
    this.#version ??= this.#run(["--version"]).then((out) => {
      const match = /version (\d+\.\d+(?:\.\d+)?)/.exec(out);
      if (!match) throw new DiskpipeError("qemu-img-failed", `cannot read the qemu-img version from: ${out.slice(0, 200)}`);
      return match[1];
    });
    this.#version.catch(() => (this.#version = undefined));
    return this.#version;
  }

  /** True when the detected version is at least `wanted` ("2.10"). */
  async atLeast(wanted: string): Promise<boolean> {
    const have = (await this.version()).split(".").map(Number);
    const want = wanted.split(".").map(Number);
    for (let i = 0; i < want.length; i++) {
      if ((have[i] ?? 0) !== want[i]) return (have[i] ?? 0) > want[i];
    }
    return true;
  }

  /** `qemu-img info --output=json` with an explicit format, under CPU and memory limits. */
  async info(image: PlanImage, secrets: QemuSecret[] = []): Promise<QemuInfo> {
    const { flags, name } = sourceArgs(image);
    const running = this.#run(["info", "--output=json", ...secretArgs(secrets), ...flags, name], { limited: true });
    // Built (zod loaded, the first time) while qemu-img runs rather than after it.
    const schema = qemuInfoSchema();
    return parseJson(schema, await running, "info");
  }

  /** `qemu-img measure`: the size a conversion of `source` to `target` needs. */
  async measure(source: PlanImage, target: Omit<PlanImage, "path">, secrets: QemuSecret[] = []): Promise<QemuMeasure> {
    const { flags, name } = sourceArgs(source);
    const targetOptions = optionList(measurableOptions(target.options));
    const args = ["measure", "--output=json", ...secretArgs(secrets), ...flags, "-O", target.driver];
    if (targetOptions) args.push("-o", targetOptions);
    const running = this.#run([...args, name], { limited: true });
    const schema = measureSchema();
    const parsed = parseJson(schema, await running, "measure");
    return { required: parsed.required, fullyAllocated: parsed["fully-allocated"] };
  }

  /**
   * `qemu-img map --output=json`: which extents of an image hold data, under the same limits.
   * For raw files it asks the file system (SEEK_DATA/SEEK_HOLE), which node:fs cannot.
   *
   * @example
   * ```ts
   * const data = (await qemu.map({ path: "disk.raw", format: "raw", driver: "raw", options: {} })).filter((e) => e.data);
   * ```
   */
  async map(image: PlanImage): Promise<QemuExtent[]> {
    const { flags, name } = sourceArgs(image);
    const running = this.#run(["map", "--output=json", ...flags, name], { limited: true });
    const schema = mapSchema();
    return parseJson(schema, await running, "map").map(({ start, length, data, zero }) => ({ start, length, data, zero }));
  }

  /** Builds the argv of a conversion (exported for tests and `--dry-run`). */
  convertArgs(plan: ConvertPlan): string[] {
    const { flags: source, name } = sourceArgs(plan.input);
    const f = plan.flags;
    const args = ["convert", "-p", ...secretArgs(plan.secrets), ...source];
    if (f.sourceCache) args.push("-T", f.sourceCache);
    args.push("-O", plan.output.driver);
    const outputOptions = optionList(plan.output.options);
    if (outputOptions) args.push("-o", outputOptions);
    if (f.cache) args.push("-t", f.cache);
    if (f.coroutines) args.push("-m", String(f.coroutines));
    if (f.outOfOrder && !f.compress) args.push("-W");
    if (f.sparseSize !== undefined) args.push("-S", f.sparseSize);
    if (f.compress) args.push("-c");
    if (f.rateLimit) args.push("-r", String(f.rateLimit));
    if (f.noCreate || f.targetIsZero) args.push("-n");
    if (f.targetIsZero) args.push("--target-is-zero");
    args.push(name, plan.output.path);
    return args;
  }

  /**
   * The whole command line of a conversion: the wrapper prefix (if any), then qemu-img under
   * the plan's CPU and address-space limits (`prlimit`), then its argv.
   */
  convertCommand(plan: ConvertPlan): string[] {
    const prefix = this.#wrapper?.({ input: plan.input.path, output: plan.output.path }) ?? [];
    const limits = plan.limits ?? DEFAULT_CONVERT_LIMITS;
    return [...prefix, ...prlimit(limits), this.binary, ...this.convertArgs(plan)];
  }

  /** Runs a conversion, reporting qemu-img's percentage as it goes. */
  async convert(plan: ConvertPlan, run: ConvertRun = {}): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const result = await this.#convertOnce(plan, run);
      // qemu times its LUKS key derivation with the thread's CPU clock, which on some kernels
      // advances only at scheduler ticks: a first round shorter than a tick reads as 0 ms and
      // qemu gives up before writing anything (about one create in four on the CI machine).
      // Each try measures afresh and costs milliseconds.
      if (attempt < PBKDF_TRIES && result.exitCode !== 0 && /Unable to get accurate CPU usage/.test(result.stderr)) continue;
      check(result, "convert");
      return;
    }
  }

  async #convertOnce(plan: ConvertPlan, run: ConvertRun): Promise<Finished> {
    const [file, ...args] = this.convertCommand(plan);
    let carry = "";
    const result = await runChild(...tiedToParent(file!, args), run.signal, (chunk) => {
      const text = carry + chunk.toString("latin1");
      const matches = [...text.matchAll(/\((\d+(?:\.\d+)?)\/100%\)/g)];
      carry = text.slice(-32);
      const last = matches.at(-1);
      if (last) {
        carry = text.slice((last.index ?? 0) + last[0].length);
        run.onProgress?.(Number(last[1]));
      }
    });
    return result;
  }

  /** `qemu-img resize` of an image diskpipe produced. */
  async resize(image: PlanImage, size: number): Promise<void> {
    await this.#run(["resize", "-f", image.driver, image.path, String(size)]);
  }

  async #run(args: string[], options: { limited?: boolean } = {}): Promise<string> {
    const [file, argv] = options.limited ? this.#limited(args) : [this.binary, args];
    const result = await runChild(...tiedToParent(file, argv));
    // A limited run goes through prlimit: only when it fails does the (unlimited) version probe
    // tell a missing qemu-img apart from a missing prlimit, so a success costs one process.
    if (options.limited && (result.error || result.exitCode !== 0)) await this.version();
    return check(result, args[0]).stdout;
  }

  #limited(args: string[]): [string, string[]] {
    const [file, ...flags] = prlimit(this.limits);
    return [file!, [...flags, this.binary, ...args]];
  }
}

/**
 * The command run so that it dies with diskpipe: `setpriv --pdeathsig KILL` asks the kernel to
 * kill it when its parent goes, even by SIGKILL (setpriv, prlimit and the wrappers exec in
 * place, so the setting reaches qemu-img). Without setpriv (util-linux), the command as is.
 */
function tiedToParent(file: string, args: string[]): [string, string[]] {
  const setpriv = setprivPath();
  return setpriv ? [setpriv, ["--pdeathsig", "KILL", "--", file, ...args]] : [file, args];
}

let setprivFound: string | null | undefined;
function setprivPath(): string | undefined {
  setprivFound ??= ["/usr/bin/setpriv", "/bin/setpriv", "/usr/sbin/setpriv"].find((path) => existsSync(path)) ?? null;
  return setprivFound ?? undefined;
}

/** How a child process ended. */
interface Finished {
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
 */
async function runChild(file: string, args: string[], signal?: AbortSignal, onStdout?: (chunk: Buffer) => void): Promise<Finished> {
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

/** Throws the DiskpipeError a failed run means; returns the run otherwise. */
function check(result: Finished, command: string | undefined): Finished {
  if (result.canceled) throw new DiskpipeError("aborted", `qemu-img ${command} was aborted`);
  const missing = result.error?.code === "ENOENT" || (result.exitCode === 127 && /No such file|not found/.test(result.stderr));
  if (missing) throw new DiskpipeError("qemu-img-missing", INSTALL_HINT);
  if (result.error) throw new DiskpipeError("qemu-img-failed", `qemu-img ${command} could not start: ${result.error.message}`);
  if (result.exitCode !== 0) {
    const killedByLimit = result.signal === "SIGKILL" || result.signal === "SIGXCPU";
    const why = killedByLimit ? `killed by its resource limit (${result.signal})` : result.stderr.trim().split("\n").slice(-3).join(" ");
    const code = /No space left on device/i.test(result.stderr) ? "no-space" : "qemu-img-failed";
    throw new DiskpipeError(code, `qemu-img ${command} failed: ${why || (result.signal ? `killed by ${result.signal}` : `exit code ${result.exitCode}`)}`);
  }
  return result;
}

function measurableOptions(options: Record<string, string | number | boolean>): Record<string, string | number | boolean> {
  // measure cannot take a secret, and qemu refuses cipher options without one; the LUKS header
  // size does not depend on them, so the layout is measured from the rest.
  return Object.fromEntries(Object.entries(options).filter(([key]) => !/^(key-secret|cipher-|ivgen-|hash-alg|iter-time)/.test(key)));
}

function parseJson<S extends z.ZodType>(schema: S, text: string, command: string): z.infer<S> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new DiskpipeError("qemu-img-failed", `qemu-img ${command} printed something that is not JSON`);
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) throw new DiskpipeError("qemu-img-failed", `qemu-img ${command} output was not as expected: ${zod().prettifyError(parsed.error)}`);
  return parsed.data;
}
