import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { DiskpipeError } from "../errors.ts";
import { findProgram } from "./find-program.ts";

/**
 * How qemu-img runs are held back: cgroup v2 `io.max` (systemd-run), `ionice`, or not at all.
 *
 * @example
 * ```ts
 * const method: ThrottleMethod = "ionice";
 * ```
 */
export type ThrottleMethod = "auto" | "cgroup" | "ionice" | "none";

/**
 * The `throttle` section of the configuration.
 *
 * @example
 * ```ts
 * ioWrapper({ bytesPerSecond: 100 * 1024 ** 2, ioClass: "idle", method: "auto" });
 * ```
 */
export interface ThrottleOptions {
  /** Byte rate for qemu-img (`-r`, and `io.max` through cgroups), the copy engine and HTTP transfers. */
  bytesPerSecond?: number;
  /** I/O scheduling class for qemu-img runs (`ionice -c 3` for idle, `-c 2 -n 7` for best-effort). */
  ioClass?: "idle" | "best-effort";
  /** "auto" (default): cgroups where systemd runs with cgroup v2, else ionice, when anything asks for a throttle. */
  method?: ThrottleMethod;
}

/**
 * Paces a byte stream to a rate: each `take(n)` waits until `n` more bytes fit. Allows a burst
 * of a tenth of a second so small chunks do not each pay a timer.
 *
 * @example
 * ```ts
 * const pace = new RateLimiter(10 * 1024 * 1024);
 * declare const stream: AsyncIterable<Uint8Array>, signal: AbortSignal, write: (chunk: Uint8Array) => void;
 * for await (const chunk of stream) { await pace.take(chunk.length, signal); write(chunk); }
 * ```
 */
export class RateLimiter {
  readonly bytesPerSecond: number;
  #due = 0;

  constructor(bytesPerSecond: number) {
    if (!(bytesPerSecond > 0)) throw new RangeError("a rate limit must be a positive number of bytes per second");
    this.bytesPerSecond = bytesPerSecond;
  }

  /** Resolves when `bytes` more bytes may pass; rejects when `signal` aborts. */
  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    const now = performance.now();
    this.#due = Math.max(this.#due, now - 100) + (bytes / this.bytesPerSecond) * 1000;
    const wait = this.#due - now;
    if (wait > 1) await sleep(wait, undefined, { signal });
  }
}

/**
 * A pacer for the configured rate, or undefined when no rate is set.
 *
 * @example
 * ```ts
 * declare const config: ResolvedConfig, chunk: Uint8Array;
 * const pace = rateLimiterFor(config.throttle.bytesPerSecond);
 * await pace?.take(chunk.length);
 * ```
 */
export function rateLimiterFor(bytesPerSecond: number | undefined): RateLimiter | undefined {
  return bytesPerSecond ? new RateLimiter(bytesPerSecond) : undefined;
}

/**
 * Builds the command prefix for one qemu-img run from the paths it reads and writes.
 *
 * @example
 * ```ts
 * const wrap: CommandWrapper = () => ["ionice", "-c", "3"];
 * ```
 */
export type CommandWrapper = (paths: { input: string; output: string }) => string[];

/**
 * The prefix that runs qemu-img under the configured throttle, or undefined when none is
 * configured. cgroup v2 through `systemd-run --scope -p IOReadBandwidthMax=… -p
 * IOWriteBandwidthMax=…` (systemd finds the block device behind each path), `ionice` for the
 * scheduling class or as the fallback when cgroups are not available.
 *
 * @example
 * ```ts
 * const wrap = ioWrapper({ bytesPerSecond: 50e6, ioClass: "idle" });
 * wrap?.({ input: "/srv/in.vmdk", output: "/srv/out.qcow2" });
 * // ["systemd-run", "--scope", "--quiet", "--collect", "-p", "IOReadBandwidthMax=/srv/in.vmdk 50000000", …, "ionice", "-c", "3"]
 * ```
 */
export function ioWrapper(options: ThrottleOptions, probe: ThrottleProbe = hostProbe): CommandWrapper | undefined {
  const method = options.method ?? "auto";
  if (method === "none" || (!options.bytesPerSecond && !options.ioClass)) return undefined;
  const cgroup =
    options.bytesPerSecond !== undefined && (method === "cgroup" || (method === "auto" && probe.cgroupV2()));
  if (method === "cgroup" && !probe.cgroupV2()) {
    throw new DiskpipeError(
      "config-invalid",
      "throttle.method is cgroup, but systemd with cgroup v2 is not available here (use auto or ionice)",
    );
  }
  const ioClass = options.ioClass ?? (cgroup ? undefined : "best-effort");
  const nice = ioClass && probe.has("ionice") ? ioniceArgs(ioClass) : [];
  if (method === "ionice" && nice.length === 0)
    throw new DiskpipeError("config-invalid", "throttle.method is ionice, but ionice is not installed");
  return ({ input, output }) => {
    const rate = String(options.bytesPerSecond);
    const scope = cgroup
      ? [
          "systemd-run",
          "--scope",
          "--quiet",
          "--collect",
          "-p",
          `IOReadBandwidthMax=${input} ${rate}`,
          "-p",
          `IOWriteBandwidthMax=${dirname(output)} ${rate}`,
        ]
      : [];
    return [...scope, ...nice];
  };
}

function ioniceArgs(ioClass: "idle" | "best-effort"): string[] {
  return ioClass === "idle" ? ["ionice", "-c", "3"] : ["ionice", "-c", "2", "-n", "7"];
}

/**
 * What the host offers, asked by {@link ioWrapper} (replaceable in tests).
 *
 * @example
 * ```ts
 * ioWrapper({ bytesPerSecond: 1e6 }, { cgroupV2: () => false, has: () => true }); // ["ionice", "-c", "2", "-n", "7"]
 * ```
 */
export interface ThrottleProbe {
  /** systemd is PID 1 and cgroup v2 is mounted: `systemd-run --scope` can set `io.max`. */
  cgroupV2(): boolean;
  /** A command is on PATH. */
  has(command: string): boolean;
}

/**
 * The probe of the machine diskpipe runs on.
 *
 * @example
 * ```ts
 * hostProbe.has("ionice"); // true on most Linux systems
 * ```
 */
export const hostProbe: ThrottleProbe = {
  cgroupV2: () =>
    existsSync("/run/systemd/system") &&
    existsSync("/sys/fs/cgroup/cgroup.controllers") &&
    process.getuid?.() === 0 &&
    hostProbe.has("systemd-run"),
  has: (command) => findProgram(command) !== undefined,
};
