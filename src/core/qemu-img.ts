import { setTimeout as sleep } from "node:timers/promises";
import type { ConvertPlan, PlanImage, QemuSecret } from "./job.ts";
import {
  DEFAULT_CONVERT_LIMITS,
  DEFAULT_LIMITS,
  optionList,
  prlimit,
  secretArgs,
  sourceArgs,
  type QemuLimits,
} from "./qemu-img-args.ts";
import {
  mapSchema,
  measureSchema,
  parseJson,
  qemuInfoSchema,
  type QemuExtent,
  type QemuInfo,
  type QemuMeasure,
} from "./qemu-img-output.ts";
import { check, runChild, tiedToParent, type Finished } from "./qemu-img-process.ts";
import { DiskpipeError } from "./errors.ts";

// The types of the adapter's own signatures, for its callers.
export type { QemuLimits } from "./qemu-img-args.ts";
export type { QemuExtent, QemuInfo, QemuMeasure } from "./qemu-img-output.ts";

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

/** Options of one conversion run. */
export interface ConvertRun {
  /** Called with the percentage qemu-img reports. */
  onProgress?: (percent: number) => void;
  signal?: AbortSignal;
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
      if (!match)
        throw new DiskpipeError("qemu-img-failed", `cannot read the qemu-img version from: ${out.slice(0, 200)}`);
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
    const targetOptions = optionList(target.options);
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
   * declare const qemu: QemuImg;
   * const data = (await qemu.map({ path: "disk.raw", format: "raw", driver: "raw", options: {} })).filter((e: { data: boolean }) => e.data);
   * ```
   */
  async map(image: PlanImage, secrets: QemuSecret[] = []): Promise<QemuExtent[]> {
    const { flags, name } = sourceArgs(image);
    const running = this.#run(["map", "--output=json", ...secretArgs(secrets), ...flags, name], { limited: true });
    const schema = mapSchema();
    return parseJson(schema, await running, "map").map(({ start, length, data, zero }) => ({
      start,
      length,
      data,
      zero,
    }));
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
  convertCommand(plan: ConvertPlan): [string, ...string[]] {
    const limited: [string, ...string[]] = [
      ...prlimit(plan.limits ?? DEFAULT_CONVERT_LIMITS),
      this.binary,
      ...this.convertArgs(plan),
    ];
    const [first, ...rest] = this.#wrapper?.({ input: plan.input.path, output: plan.output.path }) ?? [];
    return first === undefined ? limited : [first, ...rest, ...limited];
  }

  /**
   * Runs a conversion, reporting qemu-img's percentage as it goes; a failure the plan names
   * (`plan.retry`) is tried again, afresh.
   */
  async convert(plan: ConvertPlan, run: ConvertRun = {}): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const result = await this.#convertOnce(plan, run);
      const retry = plan.retry;
      if (retry && attempt < retry.attempts && result.exitCode !== 0 && result.stderr.includes(retry.stderr)) {
        // An abort ends the pause early; the next attempt then fails as aborted.
        if (retry.pauseMs)
          await sleep(Math.min(2000, retry.pauseMs * 2 ** (attempt - 1)), undefined, { signal: run.signal }).catch(
            () => undefined,
          );
        continue;
      }
      check(result, "convert");
      return;
    }
  }

  async #convertOnce(plan: ConvertPlan, run: ConvertRun): Promise<Finished> {
    const [file, ...args] = this.convertCommand(plan);
    let carry = "";
    const result = await runChild(...tiedToParent(file, args), run.signal, (chunk) => {
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

  /**
   * Exports `image` read-only over NBD on the Unix socket `socket` with qemu-nbd (found beside
   * qemu-img), always with `-f` (or `--image-opts`), under `limits`, tied to diskpipe's life. It
   * serves one client at a time until `signal` stops it (then it rejects with `aborted`).
   *
   * @example
   * ```ts
   * declare const qemu: QemuImg, signal: AbortSignal;
   * const ended = qemu.serveNbd({ path: "disk.qcow2", format: "qcow2", driver: "qcow2", options: {} }, "/tmp/x/nbd.sock", { cpuSeconds: 60, addressSpace: 2 ** 31 }, signal);
   * ```
   */
  async serveNbd(
    image: PlanImage,
    socket: string,
    limits: QemuLimits,
    signal: AbortSignal,
    secrets: QemuSecret[] = [],
  ): Promise<void> {
    const { flags, name } = sourceArgs(image);
    const nbd = this.binary.includes("/")
      ? `${this.binary.slice(0, this.binary.lastIndexOf("/") + 1)}qemu-nbd`
      : "qemu-nbd";
    const args = [
      "--read-only",
      "--persistent",
      "--shared=1",
      `--socket=${socket}`,
      ...secretArgs(secrets),
      ...flags,
      name,
    ];
    const [file, ...rest] = prlimit(limits);
    const result = await runChild(...tiedToParent(file, [...rest, nbd, ...args]), signal);
    try {
      check(result, "qemu-nbd");
    } catch (error) {
      if ((error as DiskpipeError).code !== "qemu-img-missing") throw error;
      throw new DiskpipeError(
        "qemu-img-missing",
        `${nbd} was not found: it comes with qemu-img in qemu-utils (\`apt-get install qemu-utils\` on Debian/Ubuntu)`,
      );
    }
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
    return [file, [...flags, this.binary, ...args]];
  }
}
