import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchArgs } from "./args.ts";
import type { CachePolicy, Warmup } from "./caches.ts";
import { run, type Ran, type RunOptions } from "./exec.ts";
import type { Workload } from "./images.ts";

/** The repository the bench measures (its bin/diskpipe.mjs runs dist/bundle/). */
export const REPO = fileURLToPath(new URL("..", import.meta.url));

/** The images the set-up built. */
export interface Images {
  /** Raw, virtualSize bytes, half of it data in runs. */
  raw: string;
  /** The same data as qcow2, one file per batch slot; qcow2[0] is the single-image cases' source. */
  qcow2: string[];
  /** sha256 of qcow2[0]. */
  sha256: string;
  /** Small images of five formats for the inspect case. */
  many: string[];
  /** A tiny qcow2 for warm-ups. */
  tiny: string;
}

/** Everything a case needs. */
export interface BenchContext {
  args: BenchArgs;
  work: string;
  workload: Workload;
  policy: CachePolicy;
  images: Images;
  /** Warm-ups run after every cache drop. */
  warmups: Warmup[];
  log(line: string): void;
  /** Runs `node bin/diskpipe.mjs ARGS` in the work directory (TMPDIR inside it, the built-in configuration). */
  diskpipe(args: string[], options?: RunOptions): Promise<Ran>;
  /** A fresh, empty directory under the work directory. */
  scratch(name: string): Promise<string>;
}

/**
 * The environment diskpipe runs in during the bench: TMPDIR in the work directory, so jobs
 * and downloads keep their temporary files there.
 *
 * @example
 * ```ts
 * spawn(process.execPath, [bin], { env: diskpipeEnv("/var/tmp/bench-1") });
 * ```
 */
export function diskpipeEnv(work: string): NodeJS.ProcessEnv {
  return { ...process.env, TMPDIR: join(work, "tmp") };
}

/**
 * Builds the context's helpers around a work directory.
 *
 * @example
 * ```ts
 * const ctx = makeContext({ args, work, workload, policy, images, log });
 * ```
 */
export function makeContext(base: Omit<BenchContext, "diskpipe" | "scratch" | "warmups">): BenchContext {
  const bin = join(REPO, "bin", "diskpipe.mjs");
  const env = diskpipeEnv(base.work);
  const ctx: BenchContext = {
    ...base,
    warmups: [],
    diskpipe: (args, options = {}) => run(process.execPath, [bin, ...args], { cwd: base.work, env, ...options }),
    async scratch(name) {
      const dir = join(base.work, name);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      return dir;
    },
  };
  const warm = join(base.work, "warm");
  ctx.warmups = [
    () => run("qemu-img", ["info", "--output=json", base.images.tiny]),
    () =>
      run("cp", ["--sparse=always", base.images.tiny, join(warm, "tiny.copy")]).then(() => rm(join(warm, "tiny.copy"))),
    () => run("sha256sum", [base.images.tiny]),
    () => ctx.diskpipe(["convert", base.images.tiny, join(warm, "tiny.raw"), "--to", "raw", "--force"]),
    // Warm: every source read once, so each run starts with it in the page cache.
    ...(base.policy === "warm"
      ? [base.images.raw, ...base.images.qcow2].filter(Boolean).map((image) => () => run("cat", [image]))
      : []),
  ];
  return ctx;
}
