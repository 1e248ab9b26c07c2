import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { DiskpipeError, UsageError, defineFormat, definePlugin, type ConvertPlan, type JobContext, type Plugin } from "../../plugin-api.ts";
import { decodeCipher } from "./cipher.ts";

const MIN_QEMU = "2.10";
const LUKS_HEADER_BOUND = 16 * 1024 * 1024;

async function passphraseFile(ctx: JobContext, why: string): Promise<string> {
  const option = ctx.spec.options?.passphraseFile;
  if (typeof option !== "string" || !option) throw new UsageError(`${why} needs --passphrase-file FILE`);
  const path = resolve(option);
  const info = await stat(path).catch(() => {
    throw new UsageError(`passphrase file ${option} cannot be read`);
  });
  if (!info.isFile()) throw new UsageError(`passphrase file ${option} is not a regular file`);
  if (info.size === 0) throw new UsageError(`passphrase file ${option} is empty`);
  if ((info.mode & 0o077) !== 0) ctx.warn(`passphrase file ${option} is readable by group or others (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it`);
  return path;
}

async function requireLuksSupport(ctx: JobContext): Promise<void> {
  if (!(await ctx.qemu.atLeast(MIN_QEMU))) {
    throw new DiskpipeError("qemu-img-failed", `LUKS needs qemu-img ${MIN_QEMU} or newer; this one is ${await ctx.qemu.version()}`);
  }
}

/**
 * LUKS encrypted images. Output: `--to luks --passphrase-file F [--cipher aes-xts-plain64
 * --key-size 256 --iter-time MS]`. Input: `--from luks --passphrase-file F`, opened with qemu's luks driver
 * so it converts to any format. The passphrase reaches qemu-img only as a secret object that
 * reads the file: never argv, environment or logs.
 *
 * @example
 * ```ts
 * // diskpipe convert disk.qcow2 disk.luks --to luks --passphrase-file key.txt
 * export default defineConfig({ plugins: [luks()] });
 * ```
 */
export function luks(): Plugin {
  return definePlugin({
    name: "luks",
    formats: [
      defineFormat({
        name: "luks",
        qemuDriver: "luks",
        // Encrypted data is fully allocated; the LUKS1 header with its 8 key slots stays under 16 MiB.
        estimateSize: (virtualSize) => virtualSize + LUKS_HEADER_BOUND,
        maxFileSize: (virtualSize) => virtualSize + LUKS_HEADER_BOUND,
      }),
    ],
    hooks: {
      async preConvert(plan: ConvertPlan, ctx: JobContext): Promise<ConvertPlan | void> {
        const reads = plan.input.format === "luks";
        const writes = plan.output.format === "luks";
        if (!reads && !writes) return;
        await requireLuksSupport(ctx);
        const file = await passphraseFile(ctx, reads ? "a LUKS source" : "LUKS output");
        const secrets = [...plan.secrets, { id: "luks0", file }];
        const next: ConvertPlan = { ...plan, secrets, engine: "qemu-img" };
        if (reads) next.input = { ...plan.input, options: { ...plan.input.options, "key-secret": "luks0" } };
        if (writes) {
          const cipher = typeof ctx.spec.options?.cipher === "string" ? ctx.spec.options.cipher : "aes-xts-plain64";
          const keySize = typeof ctx.spec.options?.keySize === "number" ? ctx.spec.options.keySize : 256;
          const iterTime: Record<string, number> = typeof ctx.spec.options?.iterTime === "number" ? { "iter-time": ctx.spec.options.iterTime } : {};
          next.output = { ...plan.output, options: { ...plan.output.options, "key-secret": "luks0", ...decodeCipher(cipher, keySize), ...iterTime } };
        }
        return next;
      },
    },
  });
}
