import { copyFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { alternate } from "../alternate.ts";
import { printed, startChild, stopChild } from "../children.ts";
import { diskpipeEnv, REPO, type BenchContext } from "../context.ts";
import { has } from "../exec.ts";
import { toQcow2, writeDataImage } from "../images.ts";
import { noopJobs } from "../queue-noop.ts";
import { startBenchRedis } from "../redis.ts";
import type { CaseResult, Row } from "../report.ts";
import { summarize } from "../stats.ts";

const MiB = 1024 ** 2;
const JOBS = 8;
const NOOP_JOBS = 1000;
/** The overhead the queue may add to a job over `convert --out-dir` (issue 12). */
const TARGET_MS = 50;

/**
 * Case 9 (only on request: needs redis-server): the same 8 small jobs (qcow2 → raw, 32 MiB
 * virtual, 16 MiB of data) by 1, 2 and 4 `diskpipe worker` processes through `diskpipe submit
 * --wait`, against one `diskpipe convert --out-dir --jobs N` of the same 8; then 1,000 no-op jobs
 * through one worker (the queue's own cost). Loopback only (a redis-server it starts on
 * 127.0.0.1), a bounded number of jobs, warm caches.
 *
 * @example
 * ```ts
 * const result = await queueCase(ctx);
 * ```
 */
export async function queueCase(ctx: BenchContext): Promise<CaseResult> {
  if (!(await has("redis-server"))) throw new Error("the queue case needs redis-server (apt-get install redis-server)");
  const images = await ctx.scratch("queue-images");
  const raw = join(images, "small.raw");
  await writeDataImage(raw, 32 * MiB, 4 * MiB);
  const first = join(images, "s0.qcow2");
  await toQcow2(raw, first);
  const sources = [first];
  for (let i = 1; i < JOBS; i++) {
    sources.push(join(images, `s${i}.qcow2`));
    await copyFile(first, join(images, `s${i}.qcow2`));
  }
  const config = join(ctx.work, "queue.config.mjs");
  await writeFile(
    config,
    `export default { queue: { allow: { sources: [${JSON.stringify(ctx.work)}], destinations: [${JSON.stringify(ctx.work)}] } } };\n`,
  );
  const redis = await startBenchRedis(ctx.work);
  const rows: Row[] = [];
  const table = [
    "| workers | `submit --wait` (s) | `convert --out-dir --jobs N` (s) | jobs/s through the queue | queue overhead per job (ms) | a `submit --wait` of the 8 jobs done already (s) |",
    "|---|---|---|---|---|---|",
  ];
  try {
    for (const n of [1, 2, 4]) {
      const workers = Array.from({ length: n }, (_, i) =>
        startChild(
          process.execPath,
          [
            join(REPO, "bin", "diskpipe.mjs"),
            "worker",
            "--config",
            config,
            "--queue",
            redis.url,
            "--jobs",
            "1",
            "--name",
            `bench-${n}-${i}`,
          ],
          {
            cwd: ctx.work,
            env: diskpipeEnv(ctx.work),
            stdio: ["ignore", "ignore", "pipe"],
          },
        ),
      );
      try {
        await Promise.all(workers.map((worker) => printed(worker, /taking jobs/, 30_000)));
        for (const worker of workers) worker.stderr?.resume();
        let outA = "";
        let outB = "";
        let round = 0;
        // The same 8 jobs into a folder whose jobs finished before the runs: what one submit call costs besides the jobs.
        const known = await ctx.scratch(`queue-known-${n}`);
        const submitKnown = () =>
          ctx.diskpipe([
            "submit",
            ...sources,
            "--out-dir",
            known,
            "--to",
            "raw",
            "--queue",
            redis.url,
            "--wait",
            "--quiet",
            "--config",
            config,
          ]);
        await submitKnown();
        const [queued, direct, fixed] = await alternate(
          [
            {
              label: `submit ×${JOBS} --wait, ${n} worker${n > 1 ? "s" : ""}`,
              // A new folder each run: the same job to the same destination would be the same (finished) job.
              reset: async () => {
                if (outB) await rm(outB, { recursive: true, force: true });
                outB = await ctx.scratch(`queue-out-${n}-${round++}`);
              },
              run: async () =>
                void (await ctx.diskpipe([
                  "submit",
                  ...sources,
                  "--out-dir",
                  outB,
                  "--to",
                  "raw",
                  "--queue",
                  redis.url,
                  "--wait",
                  "--quiet",
                  "--config",
                  config,
                ])),
            },
            {
              label: `convert ×${JOBS} --out-dir --jobs ${n}`,
              reset: async () => void (outA = await ctx.scratch("queue-out-direct")),
              run: async () =>
                void (await ctx.diskpipe([
                  "convert",
                  ...sources,
                  "--out-dir",
                  outA,
                  "--to",
                  "raw",
                  "--jobs",
                  String(n),
                  "--quiet",
                  "--config",
                  config,
                ])),
            },
            { label: `submit ×${JOBS} --wait, all done already`, run: async () => void (await submitKnown()) },
          ],
          { runs: ctx.args.runs, policy: "warm", warmups: [], durable: true, quiesceMs: 500, log: ctx.log },
        );
        if (outB) await rm(outB, { recursive: true, force: true });
        await rm(known, { recursive: true, force: true });
        const overhead = summarize(queued.ms.map((ms, i) => (ms - (direct.ms[i] ?? ms)) / JOBS));
        const q = summarize(queued.ms.map((ms) => ms / 1000));
        const d = summarize(direct.ms.map((ms) => ms / 1000));
        const ratio = summarize(queued.ms.map((ms, i) => ms / (direct.ms[i] ?? ms)));
        rows.push({
          id: `9.${n}`,
          comparison: `${JOBS} small jobs by ${n} worker process${n > 1 ? "es" : ""}: \`submit --wait\` vs \`convert --out-dir --jobs ${n}\` (overhead ${overhead.median.toFixed(0)} ms/job)`,
          a: q,
          b: d,
          ratio,
          unit: "s",
          target: `overhead < ${TARGET_MS} ms/job`,
          met: overhead.median < TARGET_MS,
        });
        const f = summarize((fixed?.ms ?? []).map((ms) => ms / 1000));
        table.push(
          `| ${n} | ${q.median.toFixed(2)} (${q.min.toFixed(2)}–${q.max.toFixed(2)}) | ${d.median.toFixed(2)} (${d.min.toFixed(2)}–${d.max.toFixed(2)}) | ${(JOBS / q.median).toFixed(1)} | ${overhead.median.toFixed(0)} (${overhead.min.toFixed(0)}–${overhead.max.toFixed(0)}) | ${f.median.toFixed(2)} (${f.min.toFixed(2)}–${f.max.toFixed(2)}) |`,
        );
      } finally {
        await Promise.all(workers.map((worker) => stopChild(worker)));
      }
    }
    ctx.log(`  ${NOOP_JOBS} no-op jobs through one worker`);
    const noop = await noopJobs(redis.url, NOOP_JOBS, ctx.work, 300_000);
    const section = [
      `Queue (redis-server ${redis.version} on loopback, no persistence; workers with --jobs 1; the overhead is the paired difference of the two sides' times over ${JOBS} jobs):`,
      "",
      ...table,
      "",
      `Queue overhead alone: ${NOOP_JOBS} no-op jobs (the worker's job code on BullMQ, a pipeline that does nothing) through one worker with concurrency 1: ${(noop.workMs / NOOP_JOBS).toFixed(2)} ms per job, ${((NOOP_JOBS * 1000) / noop.workMs).toFixed(0)} jobs/s; submitting them one after the other: ${(noop.submitMs / NOOP_JOBS).toFixed(2)} ms per job. Redis per job (submission and run, without progress during a conversion): ${noop.commandsPerJob.toFixed(0)} commands, ${noop.redisCpuMsPerJob.toFixed(3)} ms of its CPU (so one Redis core runs out at about ${(1000 / noop.redisCpuMsPerJob).toFixed(0)} such jobs/s).`,
    ];
    return { rows, sections: [section.join("\n")] };
  } finally {
    await redis.stop();
  }
}
