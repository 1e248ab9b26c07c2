import { chown, copyFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { alternate } from "../alternate.ts";
import type { BenchContext } from "../context.ts";
import { ratioRow, type CaseResult } from "../report.ts";

const NOBODY = 65534;

/**
 * Case 8: what the private snapshot of a source other users could change costs (issue 16):
 * `diskpipe convert` of the bench qcow2 owned by another user (snapshotted: a reflink where
 * the file system clones, a sparse copy otherwise) against the same file owned by the operator
 * (read in place). Needs root to give the copy away; reported, not targeted.
 *
 * @example
 * ```ts
 * const result = await snapshotCase(ctx);
 * ```
 */
export async function snapshotCase(ctx: BenchContext): Promise<CaseResult> {
  if (process.getuid?.() !== 0)
    return { rows: [], sections: ["Case 8 (snapshot cost) needs root to make a file of another user; skipped."] };
  const out = await ctx.scratch("out-snapshot");
  const own = ctx.images.qcow2[0];
  const foreign = join(out, "foreign.qcow2");
  await copyFile(own, foreign);
  await chown(foreign, NOBODY, NOBODY);
  const a = join(out, "snapshot.raw");
  const b = join(out, "in-place.raw");
  const [snapshot, inPlace] = await alternate(
    [
      {
        label: "convert, source of another user",
        reset: () => rm(a, { force: true }),
        run: async () => void (await ctx.diskpipe(["convert", foreign, a, "--to", "raw"])),
      },
      {
        label: "convert, the operator's source",
        reset: () => rm(b, { force: true }),
        run: async () => void (await ctx.diskpipe(["convert", own, b, "--to", "raw"])),
      },
    ],
    { runs: ctx.args.runs, policy: ctx.policy, warmups: ctx.warmups, durable: true, log: ctx.log },
  );
  await rm(foreign, { force: true });
  return {
    rows: [
      ratioRow(
        "8",
        "`convert` of a source another user owns (private snapshot) vs the operator's own (in place)",
        snapshot.ms,
        inPlace.ms,
        Number.POSITIVE_INFINITY,
        "measured",
      ),
    ],
  };
}
