import { alternate } from "../alternate.ts";
import type { BenchContext } from "../context.ts";
import { run } from "../exec.ts";
import { ratioRow, type CaseResult } from "../report.ts";

/**
 * Case 6: `diskpipe inspect` of 200 images in one process against one `qemu-img info` per
 * image. Target: at least 20× faster (ratio ≤ 0.05).
 *
 * @example
 * ```ts
 * const result = await inspectCase(ctx);
 * ```
 */
export async function inspectCase(ctx: BenchContext): Promise<CaseResult> {
  const files = ctx.images.many;
  const [diskpipe, qemu] = await alternate(
    [
      {
        label: `diskpipe inspect ×${files.length}`,
        run: async () => {
          const { stdout } = await ctx.diskpipe(["inspect", "--json", ...files], { capture: true });
          const reports = JSON.parse(stdout) as Array<{ safe: boolean }>;
          if (reports.length !== files.length || !reports.every((r) => r.safe))
            throw new Error("diskpipe inspect did not accept every image");
        },
      },
      {
        label: `qemu-img info ×${files.length}`,
        run: async () => {
          for (const file of files) await run("qemu-img", ["info", "--output=json", file]);
        },
      },
    ],
    { runs: ctx.args.runs, policy: ctx.policy, warmups: ctx.warmups, durable: false, log: ctx.log },
  );
  return {
    rows: [
      ratioRow(
        "6",
        `\`inspect\` of ${files.length} images in one process vs \`qemu-img info\` per image`,
        diskpipe.ms,
        qemu.ms,
        0.05,
        "≤ 0.05 (≥ 20× faster)",
      ),
    ],
  };
}
