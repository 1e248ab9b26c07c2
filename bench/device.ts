import { rm } from "node:fs/promises";
import { join } from "node:path";
import { run } from "./exec.ts";
import type { Workload } from "./images.ts";
import type { Row } from "./report.ts";

/** What the disk under the work directory does on its own: sequential O_DIRECT rates, bytes per second. */
export interface DeviceLimit {
  writeBps: number;
  readBps: number;
  bytes: number;
  /** How it was measured: fio with a queue of requests in flight, or dd one request at a time. */
  tool: "fio" | "dd";
}

/** Requests fio keeps in flight: a deep queue, as the kernel's write-back and qemu-img's coroutines make. */
const QUEUE_DEPTH = 32;

/**
 * The device's limit where the bench writes, with O_DIRECT so the page cache plays no part:
 * `fio` (when installed: `npm run bench` installs it) writes `bytes` sequentially in 1 MiB
 * blocks with 32 requests in flight (libaio) and an fsync at the end, then reads them back the
 * same way; without fio, `dd` in 4 MiB blocks, one request at a time, which a virtual disk
 * serves well below its limit (a conversion then shows more than 100 %). Zeroes or fio's
 * pattern are written as data (virtio-blk does not detect zeroes).
 *
 * @example
 * ```ts
 * const limit = await probeDevice("/var/tmp/diskpipe-bench-1", 2 ** 31); // { writeBps: 1.9e9, readBps: 2.6e9, tool: "fio", … }
 * ```
 */
export async function probeDevice(dir: string, bytes: number): Promise<DeviceLimit> {
  const file = join(dir, "device-probe");
  const blocks = Math.max(1, Math.round(bytes / (4 * 1024 * 1024)));
  const total = blocks * 4 * 1024 * 1024;
  try {
    await run("sync", []);
    if (await hasFio()) {
      const writeBps = await fio(file, "write", total);
      const readBps = await fio(file, "read", total);
      return { writeBps, readBps, bytes: total, tool: "fio" };
    }
    const written = await timed(() =>
      run("dd", ["if=/dev/zero", `of=${file}`, "bs=4M", `count=${blocks}`, "oflag=direct", "conv=fsync"]),
    );
    const read = await timed(() => run("dd", [`if=${file}`, "of=/dev/null", "bs=4M", "iflag=direct"]));
    return { writeBps: total / (written / 1000), readBps: total / (read / 1000), bytes: total, tool: "dd" };
  } finally {
    await rm(file, { force: true });
  }
}

async function hasFio(): Promise<boolean> {
  return run("fio", ["--version"]).then(
    () => true,
    () => false,
  );
}

/** One fio pass over `file`, its bytes per second (the write's clock includes its final fsync). */
async function fio(file: string, rw: "write" | "read", size: number): Promise<number> {
  const { stdout } = await run(
    "fio",
    [
      "--name=probe",
      `--filename=${file}`,
      `--rw=${rw}`,
      "--bs=1M",
      `--size=${size}`,
      `--iodepth=${QUEUE_DEPTH}`,
      "--ioengine=libaio",
      "--direct=1",
      ...(rw === "write" ? ["--end_fsync=1"] : []),
      "--output-format=json",
    ],
    { capture: true },
  );
  const job = (JSON.parse(stdout) as { jobs: Array<Record<string, { bw_bytes: number }>> }).jobs[0];
  const rate = job?.[rw]?.bw_bytes;
  if (!rate) throw new Error(`fio gave no ${rw} rate`);
  return rate;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/**
 * One conversion's data rate as a share of the device's write rate: `dataBytes` over the
 * median seconds, over what `dd` wrote per second.
 *
 * @example
 * ```ts
 * shareOfDevice(2 ** 31, 2.7, { writeBps: 1.34e9, readBps: 1.6e9, bytes: 2 ** 31, tool: "fio" }); // 0.59
 * ```
 */
export function shareOfDevice(dataBytes: number, seconds: number, limit: DeviceLimit): number {
  return dataBytes / seconds / limit.writeBps;
}

/** The rows that convert or copy the workload's data, and how many data bytes each run moves. */
const DATA_ROWS: Record<string, (workload: Workload) => number> = {
  "1": (w) => w.virtualSize / 2,
  "2": (w) => w.virtualSize / 2,
  "4": (w) => (w.batch * w.virtualSize) / 2,
  "5": (w) => w.virtualSize / 2,
};

/**
 * The section that shows each conversion against the device's limit: data bytes per second
 * of each side's median run, as a share of what `dd` wrote per second with O_DIRECT.
 *
 * @example
 * ```ts
 * declare const rows: Row[], limit: DeviceLimit, workload: Workload;
 * const section = deviceSection(rows, limit, workload); // a markdown paragraph and table
 * ```
 */
export function deviceSection(rows: readonly Row[], limit: DeviceLimit, workload: Workload): string {
  const mbps = (bps: number) => `${(bps / 1e6).toFixed(0)} MB/s`;
  const lines = [
    `**Against the device** (${how(limit)} of ${(limit.bytes / 2 ** 30).toFixed(1)} GiB with O_DIRECT: write ${mbps(limit.writeBps)} with its fsync, read ${mbps(limit.readBps)}); data bytes per second of the median run, and that as a share of the device's write rate:`,
    "",
    "| # | comparison | data | diskpipe | share | baseline | share |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const row of rows) {
    const bytes = DATA_ROWS[row.id.split(" ")[0] ?? ""]?.(workload);
    if (bytes === undefined || row.unit !== "s") continue;
    const side = (seconds: number) =>
      `${mbps(bytes / seconds)} | ${(100 * shareOfDevice(bytes, seconds, limit)).toFixed(0)} %`;
    lines.push(
      `| ${row.id} | ${row.comparison} | ${(bytes / 2 ** 30).toFixed(1)} GiB | ${side(row.a.median)} | ${row.b ? side(row.b.median) : "— | —"} |`,
    );
  }
  return lines.join("\n");
}

/** How the limit was measured, for the section's first line. */
function how(limit: DeviceLimit): string {
  return limit.tool === "fio"
    ? `\`fio\`, 1 MiB blocks, ${QUEUE_DEPTH} in flight,`
    : "`dd`, 4 MiB blocks one at a time (fio is not installed),";
}
