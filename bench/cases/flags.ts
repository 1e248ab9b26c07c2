import { open, rm } from "node:fs/promises";
import { join } from "node:path";
import { alternate, type Side } from "../alternate.ts";
import type { BenchContext } from "../context.ts";
import { run } from "../exec.ts";
import type { CaseResult } from "../report.ts";
import { summarize } from "../stats.ts";

/** qemu-img convert variants the flag study compares, qcow2 → raw. */
const VARIANTS: Array<{ label: string; flags: string[]; precreate?: boolean }> = [
  { label: "(defaults)", flags: [] },
  { label: "-W", flags: ["-W"] },
  { label: "-m 16 -W", flags: ["-m", "16", "-W"] },
  { label: "-m 4", flags: ["-m", "4"] },
  { label: "-t none", flags: ["-t", "none"] },
  { label: "-t none -m 16 -W", flags: ["-t", "none", "-m", "16", "-W"] },
  { label: "-T none", flags: ["-T", "none"] },
  { label: "-t none -T none", flags: ["-t", "none", "-T", "none"] },
  { label: "-t none -T none -W", flags: ["-t", "none", "-T", "none", "-W"] },
  { label: "-t none -T none -m 16 -W", flags: ["-t", "none", "-T", "none", "-m", "16", "-W"] },
  { label: "-t writeback", flags: ["-t", "writeback"] },
  { label: "-n --target-is-zero (fresh sparse target)", flags: ["-n", "--target-is-zero"], precreate: true },
];

/**
 * The qemu-img flag study (only with `--only flags`): each variant of `qemu-img convert -f
 * qcow2 -O raw` in rotation, every run ending with `sync`. No target; it justifies the flags
 * diskpipe passes.
 *
 * @example
 * ```ts
 * const result = await flagsCase(ctx);
 * ```
 */
export async function flagsCase(ctx: BenchContext): Promise<CaseResult> {
  const out = await ctx.scratch("out-flags");
  const source = ctx.images.qcow2[0];
  const sides: Side[] = VARIANTS.map((variant, i) => {
    const target = join(out, `${i}.raw`);
    return {
      label: `qemu-img convert ${variant.label}`,
      reset: () => rm(target, { force: true }),
      run: async () => {
        if (variant.precreate) {
          const file = await open(target, "wx");
          await file.truncate(ctx.workload.virtualSize);
          await file.close();
        }
        await run("qemu-img", ["convert", "-f", "qcow2", "-O", "raw", ...variant.flags, source, target]);
      },
    };
  });
  const measured = await alternate(sides, {
    runs: ctx.args.runs,
    policy: ctx.policy,
    warmups: ctx.warmups,
    durable: true,
    log: ctx.log,
  });
  const base = measured[0].ms;
  const lines = [
    "qemu-img flag study, qcow2→raw, each run ending with `sync` (s: median (min–max); ratio: median of paired ratios to the defaults):",
    "",
    "| flags | s | ratio to defaults |",
    "|---|---|---|",
    ...measured.map((m, i) => {
      const s = summarize(m.ms.map((ms) => ms / 1000));
      const r = summarize(m.ms.map((ms, k) => ms / base[k]));
      return `| \`${VARIANTS[i].label}\` | ${s.median.toFixed(2)} (${s.min.toFixed(2)}–${s.max.toFixed(2)}) | ${r.median.toFixed(3)} (${r.min.toFixed(3)}–${r.max.toFixed(3)}) |`;
    }),
  ];
  return { rows: [], sections: [lines.join("\n")] };
}
