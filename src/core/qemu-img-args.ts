import type { PlanImage, QemuSecret } from "./job.ts";

/** Resource limits for qemu-img calls that parse headers (`info`, `measure`). */
export interface QemuLimits {
  /** CPU seconds (prlimit --cpu). */
  cpuSeconds: number;
  /** Address space in bytes (prlimit --as). */
  addressSpace: number;
  /** Largest file the process may write, in bytes (prlimit --fsize; past it a write fails with SIGXFSZ). */
  fileSize?: number;
}

/** The limits of header parsing (`info`, `measure`, `map`) when the configuration sets none. */
export const DEFAULT_LIMITS: QemuLimits = { cpuSeconds: 8, addressSpace: 1024 ** 3 };
/** A conversion's limits when its plan sets none: a minute of CPU, 2 GiB of address space. */
export const DEFAULT_CONVERT_LIMITS: QemuLimits = { cpuSeconds: 60, addressSpace: 2 * 1024 ** 3 };

/**
 * `prlimit --cpu=S --as=B --`: the prefix that runs a command under CPU-time and address-space
 * limits (fractions of a second round up), and `--fsize=F` when a file-size limit is given.
 *
 * @example
 * ```ts
 * prlimit({ cpuSeconds: 0.5, addressSpace: 1024 ** 3 }); // ["prlimit", "--cpu=1", "--as=1073741824", "--"]
 * prlimit({ cpuSeconds: 1, addressSpace: 1, fileSize: 4096 }); // ["prlimit", "--cpu=1", "--as=1", "--fsize=4096", "--"]
 * ```
 */
export function prlimit(limits: QemuLimits): ["prlimit", ...string[]] {
  return [
    "prlimit",
    `--cpu=${Math.max(1, Math.ceil(limits.cpuSeconds))}`,
    `--as=${Math.floor(limits.addressSpace)}`,
    ...(limits.fileSize === undefined ? [] : [`--fsize=${Math.max(0, Math.floor(limits.fileSize))}`]),
    "--",
  ];
}

/**
 * Escapes a value for qemu's comma-separated option syntax.
 *
 * @example
 * ```ts
 * qemuOptionValue("/in/a,b.img"); // "/in/a,,b.img"
 * qemuOptionValue(true); // "on"
 * ```
 */
export function qemuOptionValue(value: string | number | boolean): string {
  const text = typeof value === "boolean" ? (value ? "on" : "off") : String(value);
  return text.replaceAll(",", ",,");
}

/**
 * `key=value,…` in qemu's option syntax.
 *
 * @example
 * ```ts
 * optionList({ driver: "luks", "key-secret": "sec0" }); // "driver=luks,key-secret=sec0"
 * ```
 */
export function optionList(options: Record<string, string | number | boolean>): string {
  return Object.entries(options)
    .map(([key, value]) => `${key}=${qemuOptionValue(value)}`)
    .join(",");
}

/**
 * `--object secret,…` for each secret file.
 *
 * @example
 * ```ts
 * secretArgs([{ id: "sec0", file: "/run/diskpipe/key" }]); // ["--object", "secret,id=sec0,file=/run/diskpipe/key,format=raw"]
 * ```
 */
export function secretArgs(secrets: QemuSecret[]): string[] {
  return secrets.flatMap((s) => ["--object", `secret,id=${s.id},file=${qemuOptionValue(s.file)},format=raw`]);
}

/**
 * argv naming a source image: `-f DRIVER PATH`, or `--image-opts` when driver options are set
 * or the image is a byte range of its file (then read through qemu's raw driver, whose
 * `offset` and `size` keep every read inside the range).
 *
 * @example
 * ```ts
 * sourceArgs({ path: "in.vhd", format: "vhd", driver: "vpc", options: {} }); // { flags: ["-f", "vpc"], name: "in.vhd" }
 * sourceArgs({ path: "/w/vm.ova", format: "vmdk", driver: "vmdk", options: {}, region: { offset: 3072, length: 65536 } });
 * // { flags: ["--image-opts"], name: "driver=vmdk,file.driver=raw,file.offset=3072,file.size=65536,file.file.filename=/w/vm.ova" }
 * ```
 */
export function sourceArgs(image: PlanImage): { flags: string[]; name: string } {
  const { region } = image;
  if (region)
    return {
      flags: ["--image-opts"],
      name: optionList({
        driver: image.driver,
        ...image.options,
        "file.driver": "raw",
        "file.offset": region.offset,
        "file.size": region.length,
        "file.file.filename": image.path,
      }),
    };
  if (Object.keys(image.options).length === 0) return { flags: ["-f", image.driver], name: image.path };
  return {
    flags: ["--image-opts"],
    name: optionList({ driver: image.driver, ...image.options, "file.filename": image.path }),
  };
}
