import { alternate } from "../alternate.ts";
import { REPO, type BenchContext } from "../context.ts";
import { run } from "../exec.ts";
import type { CaseResult } from "../report.ts";
import { summarize } from "../stats.ts";

/** Modules whose import cost the start-up section lists: dependencies, then diskpipe's own entry points. */
const MODULES = [
  "commander",
  "zod",
  "execa",
  "hono",
  "@hono/node-server",
  "eta",
  "chokidar",
  "tar-stream",
  "jiti",
  "./dist/bundle/cli/main.js",
  "./dist/bundle/mod.js",
  "./dist/bundle/plugin-api.js",
  "./dist/bundle/plugins/index.js",
];

/**
 * Case 7b: `diskpipe --help` start-up (target ≤ 200 ms median), next to a bare `node -e 0`,
 * with warm caches (a start-up from a cold cache measures the disk); and what importing each
 * heavy module costs on its own.
 *
 * @example
 * ```ts
 * const result = await memoryCase(ctx);
 * ```
 */
export async function memoryCase(ctx: BenchContext): Promise<CaseResult> {
  const runs = Math.max(20, ctx.args.runs * 4);
  const [help, bare] = await alternate(
    [
      { label: "diskpipe --help", run: async () => void (await ctx.diskpipe(["--help"])) },
      { label: "node -e 0", run: async () => void (await run(process.execPath, ["-e", "0"])) },
    ],
    { runs, policy: "warm", warmups: [], durable: false, quiesceMs: 0, log: () => {} },
  );
  const a = summarize(help.ms);
  const b = summarize(bare.ms);
  ctx.log(`  diskpipe --help ${a.median.toFixed(0)} ms, node -e 0 ${b.median.toFixed(0)} ms (medians of ${runs})`);
  const lines = [
    "Import cost of each module in a fresh node process (ms, median of 5; warm caches; includes its own dependencies). diskpipe loads execa, zod, hono, chokidar, tar-stream and jiti only when a command uses them; `inspect` with the built-in plugins loads neither zod nor execa:",
    "",
    "| module | ms |",
    "|---|---|",
  ];
  for (const module of MODULES) {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const code = `const t = performance.now(); await import(${JSON.stringify(module)}); process.stdout.write(String(performance.now() - t));`;
      times.push(
        Number((await run(process.execPath, ["--input-type=module", "-e", code], { cwd: REPO, capture: true })).stdout),
      );
    }
    lines.push(`| \`${module}\` | ${summarize(times).median.toFixed(0)} |`);
  }
  return {
    rows: [
      {
        id: "7b",
        comparison: `\`diskpipe --help\` start-up, warm (baseline: \`node -e 0\`; ${runs} runs)`,
        a,
        b,
        ratio: summarize(help.ms.map((ms, i) => ms / bare.ms[i])),
        unit: "ms",
        target: "≤ 200 ms",
        met: a.median <= 200,
      },
    ],
    sections: [lines.join("\n")],
  };
}
