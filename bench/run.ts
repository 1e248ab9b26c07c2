// `npm run bench`: builds its own images in a work directory, runs each comparison in
// alternating runs, prints a markdown table of medians and ratios, removes the work directory.
import { mkdir, mkdtemp, rm, statfs } from "node:fs/promises";
import { join } from "node:path";
import { CASES, parseArgs, USAGE, type BenchArgs, type CaseName } from "./args.ts";
import { cachePolicy, QUIESCE_MS } from "./caches.ts";
import { makeContext, type BenchContext } from "./context.ts";
import { has } from "./exec.ts";
import { buildImages, workload, type Needs, type Workload } from "./images.ts";
import { describeMachine, loadAverage } from "./machine.ts";
import { deviceSection, probeDevice } from "./device.ts";
import { renderReport, type CaseResult, type Row } from "./report.ts";
import { batchCase } from "./cases/batch.ts";
import { checksumCase } from "./cases/checksum.ts";
import { compressedCase } from "./cases/compressed.ts";
import { cinderCase } from "./cases/cinder.ts";
import { convertCase } from "./cases/convert.ts";
import { copyCase } from "./cases/copy.ts";
import { flagsCase } from "./cases/flags.ts";
import { httpCase } from "./cases/http.ts";
import { inspectCase } from "./cases/inspect.ts";
import { memoryCase } from "./cases/memory.ts";
import { ovaCase } from "./cases/ova.ts";
import { queueCase } from "./cases/queue.ts";
import { snapshotCase } from "./cases/snapshot.ts";

const RUNNERS: Record<CaseName, (ctx: BenchContext) => Promise<CaseResult>> = {
  convert: convertCase,
  cinder: cinderCase,
  http: httpCase,
  batch: batchCase,
  copy: copyCase,
  inspect: inspectCase,
  memory: memoryCase,
  snapshot: snapshotCase,
  checksum: checksumCase,
  flags: flagsCase,
  queue: queueCase,
  compressed: compressedCase,
  ova: ovaCase,
};

/** The cases that build their own images, and what they build. */
const OWN_WORKLOADS: ReadonlyArray<[CaseName, string]> = [
  ["queue", "the queue case's own 8 small images (qcow2, 32 MiB virtual, 16 MiB of data), converted to raw"],
  [
    "compressed",
    "the compressed case's own image (1 GiB raw, 64 MiB with --quick: per 16 MiB, 4 MiB random, 4 MiB base64 text, 8 MiB zeroes) as qcow2, compressed with `xz -T2`, `zstd -T2`, `gzip`",
  ],
  [
    "ova",
    "the ova case's own OVA: two streamOptimized VMDKs of 768 and 256 MiB virtual (192 and 64 with --quick) of the same mix, a SHA256 manifest",
  ],
];

const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
const GiB = 1024 ** 3;

function needsOf(only: CaseName[], load: Workload): Needs {
  const single = only.some((name) => ["convert", "cinder", "http", "flags", "snapshot", "checksum"].includes(name));
  return {
    qcow2: only.includes("batch") ? load.batch : single ? 1 : 0,
    many: only.includes("inspect"),
    raw: only.some((name) => !["queue", "compressed", "ova"].includes(name)),
  };
}

/** Bytes the work directory needs at its fullest: the images, one run's outputs, one temporary copy. */
function spaceNeeded(needs: Needs, load: Workload): number {
  if (!needs.raw) return 1024 ** 3;
  const data = load.virtualSize / 2;
  const outputs = Math.max(needs.qcow2, 1) * data;
  return data + needs.qcow2 * data * 1.05 + outputs + data * 1.05 + 256 * 1024 ** 2;
}

async function main(args: BenchArgs): Promise<void> {
  const started = performance.now();
  if (!(await has("qemu-img")))
    throw new Error("qemu-img is not installed (npm run demo or apt-get install qemu-utils)");
  const load = workload(args.quick);
  const needs = needsOf(args.only, load);
  await mkdir(args.dir, { recursive: true });
  const work = await mkdtemp(join(args.dir, "diskpipe-bench-"));
  const cleanup = async () => {
    if (!args.keep) await rm(work, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    log(`${signal}: removing ${work}`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const fs = await statfs(work);
    const free = fs.bavail * fs.bsize;
    const needed = spaceNeeded(needs, load);
    if (free < needed)
      throw new Error(
        `${args.dir} has ${(free / GiB).toFixed(1)} GiB free; the bench needs about ${(needed / GiB).toFixed(1)} GiB (use --dir or --quick)`,
      );
    await mkdir(join(work, "tmp"));
    log(
      `work directory ${work}; building images${needs.raw ? ` (${load.virtualSize / GiB} GiB virtual, half of it data in ${load.run / 1024 ** 2} MiB runs)` : ""}`,
    );
    const images = await buildImages(work, load, needs, log);
    const allowed = await cachePolicy();
    const policies = args.caches.filter((policy) => policy === "warm" || allowed === "cold");
    if (policies.length === 0) throw new Error("--caches cold needs root (a writable /proc/sys/vm/drop_caches)");
    const machine = await describeMachine(work);
    const device = needs.raw ? await probeDevice(work, load.virtualSize / 2) : undefined;
    if (device)
      log(`device: write ${(device.writeBps / 1e6).toFixed(0)} MB/s, read ${(device.readBps / 1e6).toFixed(0)} MB/s`);
    const rows: Row[] = [];
    const sections: string[] = [];
    for (const policy of policies) {
      const ctx = makeContext({ args, work, workload: load, policy, images, log });
      for (const name of CASES.filter((c) => args.only.includes(c))) {
        log(`case ${name}${policies.length > 1 ? ` (${policy})` : ""}`);
        const result = await RUNNERS[name](ctx);
        rows.push(...result.rows.map((row) => (policies.length > 1 ? { ...row, id: `${row.id} ${policy}` } : row)));
        sections.push(...(result.sections ?? []));
      }
    }
    if (device) sections.unshift(deviceSection(rows, device, load));
    rows.sort((x, y) => x.id.localeCompare(y.id, "en", { numeric: true }));
    const minutes = (performance.now() - started) / 60_000;
    const own = OWN_WORKLOADS.filter(([name]) => args.only.includes(name)).map(([, text]) => text);
    const header = [
      `workload: ${[
        ...(needs.raw
          ? [
              `${load.virtualSize / GiB} GiB qcow2 holding ${load.virtualSize / 2 / GiB} GiB of incompressible data in ${load.run / 1024 ** 2} MiB runs (the rest sparse), converted to raw${args.quick ? " (--quick)" : ""}; batch of ${load.batch}; ${load.many} small images for inspect`,
            ]
          : []),
        ...own,
      ].join("; ")}`,
      `runs: ${args.runs} per side, alternating A, B, A, B…; before every run: \`sync\`, then ${policies.map((p) => (p === "cold" ? "cold: `echo 3 > /proc/sys/vm/drop_caches` and a tiny run of each program (code warm, image data cold)" : "warm: a tiny run of each program and a read of every image (sources in the page cache)")).join("; ")}, then a ${QUIESCE_MS / 1000} s pause (bench/caches.ts says why); start-up (7b) always warm, no pause; the queue case (9) warm, 0.5 s pause`,
      "every timed run that writes ends with `sync`: data a side leaves in the page cache is charged to it (diskpipe fsyncs its output itself)",
      `load average: ${machine.load} at the start, ${loadAverage()} at the end; bench wall time ${minutes.toFixed(1)} min`,
    ];
    process.stdout.write(renderReport(machine, rows, header, sections));
  } finally {
    await cleanup();
  }
}

let args: BenchArgs;
try {
  if (process.argv.includes("--help") || process.argv.includes("-h")) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  args = parseArgs(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`bench: ${(error as Error).message}\n${USAGE}\n`);
  process.exit(2);
}
await main(args).catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
