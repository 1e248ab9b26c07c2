import { rm } from "node:fs/promises";
import { join } from "node:path";
import { alternate } from "../alternate.ts";
import { cinderSequence } from "../cinder.ts";
import type { BenchContext } from "../context.ts";
import { ratioRow, type CaseResult } from "../report.ts";

/**
 * Case 2: `diskpipe convert` against Cinder's whole sequence (copy into the conversion
 * directory, info, convert, info). Target ≤ 0.5.
 *
 * @example
 * ```ts
 * const result = await cinderCase(ctx);
 * ```
 */
export async function cinderCase(ctx: BenchContext): Promise<CaseResult> {
  const out = await ctx.scratch("out-cinder");
  const conversion = await ctx.scratch("conversion");
  const source = ctx.images.qcow2[0];
  const a = join(out, "diskpipe.raw");
  const b = join(out, "cinder.raw");
  const [diskpipe, cinder] = await alternate(
    [
      {
        label: "diskpipe convert",
        reset: () => rm(a, { force: true }),
        run: async () => void (await ctx.diskpipe(["convert", source, a, "--to", "raw"])),
      },
      {
        label: "Cinder sequence",
        reset: () => rm(b, { force: true }),
        run: () => cinderSequence({ path: source }, conversion, b),
      },
    ],
    { runs: ctx.args.runs, policy: ctx.policy, warmups: ctx.warmups, durable: true, log: ctx.log },
  );
  return {
    rows: [
      ratioRow(
        "2",
        "`convert` vs Cinder's sequence (cp to the conversion dir, info, convert, info)",
        diskpipe.ms,
        cinder.ms,
        0.5,
      ),
    ],
  };
}
