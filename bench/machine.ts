import { cpus, loadavg, totalmem } from "node:os";
import { availableParallelism, release } from "node:os";
import { output } from "./exec.ts";

/** What the report says about the machine and the tools. */
export interface Machine {
  cpu: string;
  cores: number;
  ramGiB: number;
  kernel: string;
  fs: string;
  date: string;
  node: string;
  qemuImg: string;
  load: string;
}

/**
 * Describes this machine: CPU model, cores, RAM, kernel, the file system of `dir`, the date,
 * node and qemu-img versions and the load average.
 *
 * @example
 * ```ts
 * const m = await describeMachine("/var/tmp");
 * ```
 */
export async function describeMachine(dir: string): Promise<Machine> {
  const fs = await output("df", ["-T", dir]).then(
    (text) => {
      const [device, type] = text.split("\n")[1]?.split(/\s+/) ?? [];
      return `${type} on ${device}`;
    },
    () => "unknown",
  );
  const qemu = await output("qemu-img", ["--version"]).then(
    (text) => /version (\S+)/.exec(text)?.[1] ?? text,
    () => "missing",
  );
  return {
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: availableParallelism(),
    ramGiB: Math.round(totalmem() / 1024 ** 3),
    kernel: release(),
    fs,
    date: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
    node: process.version,
    qemuImg: qemu,
    load: loadAverage(),
  };
}

/**
 * The 1-, 5- and 15-minute load averages, as "1.02 0.80 0.55".
 *
 * @example
 * ```ts
 * loadAverage(); // "0.12 0.30 0.41"
 * ```
 */
export function loadAverage(): string {
  return loadavg()
    .map((n) => n.toFixed(2))
    .join(" ");
}
