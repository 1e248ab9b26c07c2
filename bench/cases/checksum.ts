import { rm } from "node:fs/promises";
import { join } from "node:path";
import { alternate } from "../alternate.ts";
import type { BenchContext } from "../context.ts";
import { run } from "../exec.ts";
import { ratioRow, type CaseResult } from "../report.ts";

/**
 * Case 10, verified conversions: `diskpipe checksum` of the bench qcow2 against `qemu-img
 * compare` of it with its raw conversion (target ≤ 0.5) and against `sha256sum` of that raw
 * image (target ≤ 0.6), in alternating runs; then `convert --verify` qcow2→raw against `convert`
 * alone (target ≤ 1.6).
 *
 * @example
 * ```ts
 * const result = await checksumCase(ctx);
 * ```
 */
export async function checksumCase(ctx: BenchContext): Promise<CaseResult> {
  const qcow2 = ctx.images.qcow2[0];
  const raw = ctx.images.raw;
  const [checksum, compare, sha256sum] = await alternate(
    [
      { label: "diskpipe checksum", run: async () => void (await ctx.diskpipe(["checksum", qcow2])) },
      {
        label: "qemu-img compare",
        run: async () => void (await run("qemu-img", ["compare", "-f", "qcow2", "-F", "raw", qcow2, raw])),
      },
      { label: "sha256sum", run: async () => void (await run("sha256sum", [raw])) },
    ],
    { runs: ctx.args.runs, policy: ctx.policy, warmups: ctx.warmups, durable: false, log: ctx.log },
  );
  const out = await ctx.scratch("out-verify");
  const verified = join(out, "verified.raw");
  const plain = join(out, "plain.raw");
  const [verify, convert] = await alternate(
    [
      {
        label: "diskpipe convert --verify",
        reset: () => rm(verified, { force: true }),
        run: async () => void (await ctx.diskpipe(["convert", qcow2, verified, "--to", "raw", "--verify"])),
      },
      {
        label: "diskpipe convert",
        reset: () => rm(plain, { force: true }),
        run: async () => void (await ctx.diskpipe(["convert", qcow2, plain, "--to", "raw"])),
      },
    ],
    { runs: ctx.args.runs, policy: ctx.policy, warmups: ctx.warmups, durable: true, log: ctx.log },
  );
  return {
    rows: [
      ratioRow(
        "10a",
        "`checksum` of the qcow2 vs `qemu-img compare` with its raw conversion",
        checksum.ms,
        compare.ms,
        0.5,
      ),
      ratioRow("10b", "`checksum` of the qcow2 vs `sha256sum` of its raw conversion", checksum.ms, sha256sum.ms, 0.6),
      ratioRow("10c", "`convert --verify` qcow2→raw vs `convert`", verify.ms, convert.ms, 1.6),
    ],
  };
}
