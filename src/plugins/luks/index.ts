import {
  DiskpipeError,
  UsageError,
  defineFormat,
  definePlugin,
  type ConvertPlan,
  type JobContext,
  type Plugin,
} from "../../plugin-api.ts";
import { decodeCipher } from "./cipher.ts";
import { luksDetector, luksProblemCodes } from "./detect.ts";
import { passphraseFile } from "./passphrase.ts";

const MIN_QEMU = "2.10";
const LUKS_HEADER_BOUND = 16 * 1024 * 1024;

async function requireLuksSupport(ctx: JobContext): Promise<void> {
  if (!(await ctx.qemu.atLeast(MIN_QEMU))) {
    throw new DiskpipeError(
      "qemu-img-failed",
      `LUKS needs qemu-img ${MIN_QEMU} or newer; this one is ${await ctx.qemu.version()}`,
    );
  }
}

/**
 * What the operator sets for LUKS jobs.
 *
 * @example
 * ```ts
 * const options: LuksOptions = { keyDirectory: "/etc/diskpipe/keys", iterTime: 1000 };
 * ```
 */
export interface LuksOptions {
  /**
   * Where keys named by `keyId` live (one file per key, named by its id): the only way a spool
   * user (a sidecar) can name a passphrase.
   */
  keyDirectory?: string;
  /** Default cipher, key size and key-derivation time when a job does not set them. */
  cipher?: string;
  keySize?: number;
  iterTime?: number;
}

/**
 * qemu times its LUKS key derivation with the thread's CPU clock, which on some kernels
 * advances only at scheduler ticks: a first round shorter than a tick reads as 0 ms and qemu
 * gives up before writing anything (about one create in four on the CI machine). Each try
 * measures afresh and costs milliseconds.
 */
// qemu's timing of the key derivation can read 0 ms for a while (seen for 8 attempts in a row
// within 2 s on a busy VM): the pauses (0.1 s doubling, up to 2 s) spread the attempts over ~9 s.
const KEY_DERIVATION_RETRY = { attempts: 8, stderr: "Unable to get accurate CPU usage", pauseMs: 100 };

/** The longest key-derivation time accepted, in ms: it is CPU work on the operator's machine. */
const MAX_ITER_TIME = 60_000;
/** qemu's own default iter-time, in ms. */
const QEMU_ITER_TIME = 2000;

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
export function luks(settings: LuksOptions = {}): Plugin {
  return definePlugin({
    name: "luks",
    convertOptions: [
      {
        flags: "--passphrase-file <file>",
        description: "LUKS passphrase file (for --to luks or --from luks)",
        key: "passphraseFile",
      },
      {
        flags: "--cipher <spec>",
        description: "LUKS cipher in dm-crypt form (default aes-xts-plain64)",
        key: "cipher",
      },
      {
        flags: "--key-size <bits>",
        description: "LUKS key size in bits (default 256)",
        key: "keySize",
        type: "number",
      },
      {
        flags: "--iter-time <ms>",
        description: "LUKS key derivation time in milliseconds (default 2000)",
        key: "iterTime",
        type: "number",
      },
    ],
    formats: [
      defineFormat({
        name: "luks",
        qemuDriver: "luks",
        detect: luksDetector.detect,
        problemCodes: luksProblemCodes,
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
        const file = await passphraseFile(ctx, reads ? "a LUKS source" : "LUKS output", settings.keyDirectory);
        const secrets = [...plan.secrets, { id: "luks0", file }];
        const next: ConvertPlan = { ...plan, secrets, engine: "qemu-img", retry: KEY_DERIVATION_RETRY };
        if (reads) next.input = { ...plan.input, options: { ...plan.input.options, "key-secret": "luks0" } };
        if (writes) {
          const option = <T>(name: "cipher" | "keySize" | "iterTime", type: string): T | undefined =>
            (typeof ctx.spec.options?.[name] === type ? ctx.spec.options?.[name] : settings[name]) as T | undefined;
          const cipher = option<string>("cipher", "string") ?? "aes-xts-plain64";
          const keySize = option<number>("keySize", "number") ?? 256;
          const time = option<number>("iterTime", "number");
          if (time !== undefined && !(Number.isInteger(time) && time >= 1 && time <= MAX_ITER_TIME)) {
            throw new UsageError(`--iter-time must be a whole number of milliseconds from 1 to ${MAX_ITER_TIME}`);
          }
          const iterTime: Record<string, number> = time !== undefined ? { "iter-time": time } : {};
          // qemu times its PBKDF2 rate, then spends iter-time on the key slot and an eighth of it on the digest.
          if (next.limits)
            next.limits = {
              ...next.limits,
              cpuSeconds: next.limits.cpuSeconds + Math.ceil((3 * (time ?? QEMU_ITER_TIME)) / 1000),
            };
          next.output = {
            ...plan.output,
            options: { ...plan.output.options, "key-secret": "luks0", ...decodeCipher(cipher, keySize), ...iterTime },
          };
        }
        return next;
      },
    },
  });
}
