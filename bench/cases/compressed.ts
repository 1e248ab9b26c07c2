import { rm } from "node:fs/promises";
import { join } from "node:path";
import { alternate } from "../alternate.ts";
import { download, pickDownloader } from "../cinder.ts";
import { writeCompressibleImage } from "../compressible.ts";
import type { BenchContext } from "../context.ts";
import { run } from "../exec.ts";
import { ratioRow, type CaseResult, type Row } from "../report.ts";
import { startServer } from "../serve.ts";

const MiB = 1024 * 1024;
const TOOLS = { xz: ["xz", "-T2"], zst: ["zstd", "-q", "-T2"], gz: ["gzip"] } as const;
const DECODE = { xz: ["xz", "-dc"], zst: ["zstd", "-dcq"], gz: ["gzip", "-dc"] } as const;

/**
 * Case 13: compressed images. (a) `.qcow2.xz` and `.qcow2.zst` over HTTP converted to raw by
 * diskpipe, against what a user runs today: download, decompress (`xz -d`, `zstd -d`),
 * `qemu-img convert` (target ≤ 0.7). (b) decompression throughput: the time of diskpipe's
 * `unpack` stage (decode, sparse write, inspection; from `--json` timings) against the tool's
 * own `-dc` to /dev/null (target ≤ 1.3). The image compresses like a cloud image (a quarter
 * random, a quarter text, half zeroes).
 *
 * @example
 * ```ts
 * const result = await compressedCase(ctx);
 * ```
 */
export async function compressedCase(ctx: BenchContext): Promise<CaseResult> {
  const src = await ctx.scratch("compressed-src");
  const out = await ctx.scratch("out-compressed");
  const conversion = await ctx.scratch("conversion-compressed");
  const size = ctx.args.quick ? 64 * MiB : 1024 * MiB;
  const raw = join(src, "cloud.raw");
  await writeCompressibleImage(raw, size);
  await run("qemu-img", ["convert", "-f", "raw", "-O", "qcow2", raw, join(src, "cloud.qcow2")]);
  for (const [kind, [tool, ...flags]] of Object.entries(TOOLS))
    await run("sh", ["-c", `${tool} ${flags.join(" ")} -c cloud.qcow2 > cloud.qcow2.${kind}`], { cwd: src });
  await rm(raw);
  const server = await startServer(src);
  const rows: Row[] = [];
  try {
    const tool = await pickDownloader();
    for (const kind of ["xz", "zst"] as const) {
      const a = join(out, "diskpipe.raw");
      const b = join(out, "sequence.raw");
      const url = server.url(`cloud.qcow2.${kind}`);
      const [diskpipe, sequence] = await alternate(
        [
          {
            label: `diskpipe convert URL.${kind}`,
            reset: () => rm(a, { force: true }),
            run: async () => void (await ctx.diskpipe(["convert", url, a, "--to", "raw"])),
          },
          {
            label: `${tool} + ${DECODE[kind][0]} -d + qemu-img convert`,
            reset: () => rm(b, { force: true }),
            run: async () => {
              const packed = join(conversion, `cloud.qcow2.${kind}`);
              const plain = join(conversion, "cloud.qcow2");
              try {
                await download(tool, url, packed);
                await run("sh", ["-c", `${DECODE[kind].join(" ")} "$1" > "$2"`, "sh", packed, plain]);
                await run("qemu-img", ["convert", "-f", "qcow2", "-O", "raw", plain, b]);
              } finally {
                await rm(packed, { force: true });
                await rm(plain, { force: true });
              }
            },
          },
        ],
        { runs: ctx.args.runs, policy: ctx.policy, warmups: ctx.warmups, durable: true, log: ctx.log },
      );
      rows.push(
        ratioRow(
          `13 ${kind}`,
          `\`.qcow2.${kind}\` over HTTP to raw vs download (${tool}), \`${DECODE[kind][0]} -d\`, \`qemu-img convert\``,
          diskpipe.ms,
          sequence.ms,
          0.7,
        ),
      );
    }
    for (const kind of ["gz", "xz", "zst"] as const) rows.push(await throughputRow(ctx, src, out, kind));
  } finally {
    await server.stop();
  }
  return { rows };
}

/** diskpipe's unpack stage (from its --json timings) against `tool -dc > /dev/null`, alternating. */
async function throughputRow(ctx: BenchContext, src: string, out: string, kind: "gz" | "xz" | "zst"): Promise<Row> {
  const packed = join(src, `cloud.qcow2.${kind}`);
  const target = join(out, "unpacked.raw");
  const unpack: number[] = [];
  const tool: number[] = [];
  await alternate(
    [
      {
        label: `diskpipe unpack ${kind}`,
        reset: () => rm(target, { force: true }),
        run: async () => {
          const ran = await ctx.diskpipe(["convert", packed, target, "--to", "raw", "--json"], { capture: true });
          const timings = JSON.parse(ran.stdout).timings as Array<{ stage: string; ms: number }>;
          unpack.push(timings.find((t) => t.stage === "unpack")?.ms ?? Number.NaN);
        },
      },
      {
        label: `${DECODE[kind].join(" ")} > /dev/null`,
        run: async () => {
          const ran = await run("sh", ["-c", `${DECODE[kind].join(" ")} "$1" > /dev/null`, "sh", packed]);
          tool.push(ran.ms);
        },
      },
    ],
    { runs: ctx.args.runs, policy: ctx.policy, warmups: ctx.warmups, durable: false, log: ctx.log },
  );
  await rm(target, { force: true });
  return ratioRow(
    `13 ${kind} rate`,
    `decompression: diskpipe's \`unpack\` stage (decode, sparse write, inspection) vs \`${DECODE[kind].join(" ")}\` to /dev/null`,
    unpack,
    tool,
    1.3,
  );
}
