import { join } from "node:path";
import { alternate } from "../alternate.ts";
import { cinderSequence } from "../cinder.ts";
import type { BenchContext } from "../context.ts";
import { ratioRow, type CaseResult } from "../report.ts";

/**
 * Case 4: a batch of 4 images in one `diskpipe convert … --out-dir` call against Cinder's
 * sequence run 4 times. Target ≤ 0.4.
 *
 * @example
 * ```ts
 * const result = await batchCase(ctx);
 * ```
 */
export async function batchCase(ctx: BenchContext): Promise<CaseResult> {
  const conversion = await ctx.scratch("conversion");
  const sources = ctx.images.qcow2;
  let outA = "";
  let outB = "";
  const [diskpipe, cinder] = await alternate(
    [
      {
        label: `diskpipe convert ×${sources.length} --out-dir`,
        reset: async () => void (outA = await ctx.scratch("out-batch-a")),
        run: async () => void (await ctx.diskpipe(["convert", ...sources, "--out-dir", outA, "--to", "raw"])),
      },
      {
        label: `Cinder sequence ×${sources.length}`,
        reset: async () => void (outB = await ctx.scratch("out-batch-b")),
        run: async () => {
          for (const [i, source] of sources.entries())
            await cinderSequence({ path: source }, conversion, join(outB, `${i}.raw`));
        },
      },
    ],
    { runs: ctx.args.runs, policy: ctx.policy, warmups: ctx.warmups, durable: true, log: ctx.log },
  );
  return {
    rows: [
      ratioRow(
        "4",
        `batch of ${sources.length} in one \`convert --out-dir\` vs Cinder's sequence ×${sources.length}`,
        diskpipe.ms,
        cinder.ms,
        0.4,
      ),
    ],
  };
}
