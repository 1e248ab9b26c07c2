import { rm } from "node:fs/promises";
import { join } from "node:path";
import { alternate } from "../alternate.ts";
import type { BenchContext } from "../context.ts";
import { run } from "../exec.ts";
import { ratioRow, type CaseResult } from "../report.ts";

/**
 * Case 5: raw→raw, diskpipe's sparse-aware copy engine (after the inspector confirmed raw)
 * against `cp --sparse=always`. Target ≤ 1.3.
 *
 * @example
 * ```ts
 * const result = await copyCase(ctx);
 * ```
 */
export async function copyCase(ctx: BenchContext): Promise<CaseResult> {
  const out = await ctx.scratch("out-copy");
  const source = ctx.images.raw;
  const a = join(out, "diskpipe.raw");
  const b = join(out, "cp.raw");
  const [diskpipe, cp] = await alternate(
    [
      {
        label: "diskpipe convert raw→raw",
        reset: () => rm(a, { force: true }),
        run: async () => void (await ctx.diskpipe(["convert", source, a, "--to", "raw"])),
      },
      {
        label: "cp --sparse=always",
        reset: () => rm(b, { force: true }),
        run: async () => void (await run("cp", ["--sparse=always", source, b])),
      },
    ],
    { runs: ctx.args.runs, policy: ctx.policy, warmups: ctx.warmups, durable: true, log: ctx.log },
  );
  return { rows: [ratioRow("5", "raw→raw copy engine vs `cp --sparse=always`", diskpipe.ms, cp.ms, 1.3)] };
}
