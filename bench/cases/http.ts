import { rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { alternate } from "../alternate.ts";
import { cinderSequence, download, pickDownloader } from "../cinder.ts";
import type { BenchContext } from "../context.ts";
import { startServer } from "../serve.ts";
import { ratioRow, type CaseResult } from "../report.ts";

/**
 * Case 3: an HTTP source on 127.0.0.1 (served by a child process) with a sha256 checksum:
 * `diskpipe convert URL DST --to raw --checksum sha256:…` against download to a file,
 * `sha256sum`, info, convert, info. Target ≤ 0.5.
 *
 * @example
 * ```ts
 * const result = await httpCase(ctx);
 * ```
 */
export async function httpCase(ctx: BenchContext): Promise<CaseResult> {
  const out = await ctx.scratch("out-http");
  const conversion = await ctx.scratch("conversion");
  const server = await startServer(join(ctx.images.qcow2[0], ".."));
  try {
    const tool = await pickDownloader();
    const url = server.url(basename(ctx.images.qcow2[0]));
    const tinyUrl = server.url(basename(ctx.images.tiny));
    const a = join(out, "diskpipe.raw");
    const b = join(out, "cinder.raw");
    const warmups = [
      ...ctx.warmups,
      () => download(tool, tinyUrl, join(conversion, "warm")).then(() => rm(join(conversion, "warm"))),
      () => ctx.diskpipe(["convert", tinyUrl, join(out, "warm.raw"), "--to", "raw", "--force"]),
    ];
    const [diskpipe, cinder] = await alternate(
      [
        {
          label: "diskpipe convert URL --checksum",
          reset: () => rm(a, { force: true }),
          run: async () =>
            void (await ctx.diskpipe(["convert", url, a, "--to", "raw", "--checksum", `sha256:${ctx.images.sha256}`])),
        },
        {
          label: `${tool} + sha256sum + Cinder sequence`,
          reset: () => rm(b, { force: true }),
          run: () => cinderSequence({ url, sha256: ctx.images.sha256, tool }, conversion, b),
        },
      ],
      { runs: ctx.args.runs, policy: ctx.policy, warmups, durable: true, log: ctx.log },
    );
    return {
      rows: [
        ratioRow(
          "3",
          `HTTP source + sha256 vs download (${tool}), \`sha256sum\`, info, convert, info`,
          diskpipe.ms,
          cinder.ms,
          0.5,
        ),
      ],
    };
  } finally {
    await server.stop();
  }
}
