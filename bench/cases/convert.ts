import { rm } from "node:fs/promises";
import { join } from "node:path";
import { alternate } from "../alternate.ts";
import type { BenchContext } from "../context.ts";
import { run } from "../exec.ts";
import { ratioRow, type CaseResult } from "../report.ts";
import { summarize } from "../stats.ts";

/**
 * Case 1: `diskpipe convert SRC.qcow2 DST.raw --to raw` against `qemu-img convert -O raw -f
 * qcow2 SRC DST` (target ≤ 1.2), and case 7's peak RSS of the diskpipe process during those
 * runs (target ≤ 150 MB).
 *
 * @example
 * ```ts
 * const result = await convertCase(ctx);
 * ```
 */
export async function convertCase(ctx: BenchContext): Promise<CaseResult> {
  const out = await ctx.scratch("out-convert");
  const source = ctx.images.qcow2[0];
  const a = join(out, "diskpipe.raw");
  const b = join(out, "qemu.raw");
  const [diskpipe, qemu] = await alternate(
    [
      {
        label: "diskpipe convert",
        reset: () => rm(a, { force: true }),
        run: async () => ({
          peakKb: (await ctx.diskpipe(["convert", source, a, "--to", "raw"], { peakRss: true })).peakKb,
        }),
      },
      {
        label: "qemu-img convert",
        reset: () => rm(b, { force: true }),
        run: async () => void (await run("qemu-img", ["convert", "-O", "raw", "-f", "qcow2", source, b])),
      },
    ],
    { runs: ctx.args.runs, policy: ctx.policy, warmups: ctx.warmups, durable: true, log: ctx.log },
  );
  const peakMb = summarize(diskpipe.peakKb.map((kb) => (kb * 1024) / 1e6));
  return {
    rows: [
      ratioRow("1", "`convert` qcow2→raw vs `qemu-img convert -O raw -f qcow2`", diskpipe.ms, qemu.ms, 1.2),
      {
        id: "7a",
        comparison: "peak RSS of the diskpipe process during case 1 (VmHWM)",
        a: peakMb,
        unit: "MB",
        target: "≤ 150 MB",
        met: peakMb.max <= 150,
      },
    ],
  };
}
