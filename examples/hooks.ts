/**
 * One plugin using all five hook points, including a veto:
 * - preFetch: refuses sources outside an allowed directory (or loopback URLs);
 * - verify: vetoes images larger than a quota (exit 3, the error names the plugin and hook);
 * - preConvert: compresses qcow2 outputs;
 * - postConvert: checks the output exists and is not empty;
 * - upload: appends a line to an audit log beside the output.
 *
 *   diskpipe run examples/hooks.ts SRC DEST FORMAT [QUOTA]
 *   deno run -A examples/hooks.ts SRC DEST FORMAT [QUOTA]
 */
import { appendFile, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { convert, defaultConfig, definePlugin, parseSize, type Plugin } from "diskpipe";

/** The example policy plugin. */
export function policy(options: { root: string; quota: number }): Plugin {
  return definePlugin({
    name: "policy",
    hooks: {
      preFetch(ctx) {
        const source = ctx.spec.source;
        const local = !/^[a-z]+:\/\//i.test(source);
        if (
          local
            ? !resolve(source).startsWith(resolve(options.root))
            : !/^https?:\/\/(127\.0\.0\.1|\[::1\]|localhost)[:/]/.test(source)
        ) {
          throw new Error(`${source} is outside ${options.root}`);
        }
      },
      verify(ctx) {
        const size = ctx.inspection!.virtualSize;
        if (size > options.quota) throw new Error(`virtual size ${size} is over the quota of ${options.quota} bytes`);
      },
      preConvert(plan) {
        if (plan.output.format === "qcow2") return { ...plan, flags: { ...plan.flags, compress: true } };
      },
      async postConvert(ctx) {
        const written = ctx.output!.size ?? (await stat(ctx.output!.path)).size;
        if (written === 0) throw new Error("the output is empty");
      },
      async upload(ctx) {
        const line = `${new Date().toISOString()} ${ctx.spec.source} -> ${ctx.spec.destination} ${ctx.inspection!.format} ${ctx.inspection!.virtualSize}\n`;
        await appendFile(join(dirname(resolve(ctx.spec.destination)), "audit.log"), line);
      },
    },
  });
}

const [source, destination, to, quota = "1T"] = process.argv.slice(2);
if (!source || !destination || !to) {
  console.error("usage: hooks.ts SRC DEST FORMAT [QUOTA]");
  process.exit(2);
}
const base = await defaultConfig();
try {
  const result = await convert({
    source,
    destination,
    to,
    config: {
      ...base,
      plugins: [...(base.plugins ?? []), policy({ root: dirname(resolve(source)), quota: parseSize(quota) })],
    },
  });
  console.log(`converted ${source} -> ${destination} (${result.from} -> ${result.to})`);
} catch (error) {
  const e = error as { message: string; code?: string; exitCode?: number };
  console.error(`${e.message} [${e.code}]`);
  process.exitCode = e.exitCode ?? 1;
}
