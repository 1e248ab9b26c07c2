import type { z } from "zod";
import { DiskpipeError } from "./errors.ts";
import { lazy, zod } from "./lazy-zod.ts";
import { flattenPlugins, type Plugin, type PluginOption } from "./plugin.ts";
import { parseSize } from "./size.ts";

/**
 * A size field (zod, built on first use): bytes, or a string with a binary suffix ("10G"),
 * parsed to bytes.
 *
 * @example
 * ```ts
 * zod().object({ maxSize: sizeSchema() }).parse({ maxSize: "2T" }); // { maxSize: 2199023255552 }
 * ```
 */
export const sizeSchema = lazy(() => {
  const z = zod();
  return z.union([z.number(), z.string()]).transform((value, ctx) => {
    try {
      return parseSize(value);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  });
});

/**
 * Where a location may be: an absolute directory (`/srv/images/`: that directory and below), or
 * a URL's origin (`https://images.example.com`, `https://*.example.com`, `store://images`).
 */
const ALLOW_ENTRY = /^(\/.*|[a-z][a-z0-9+.-]*:\/\/(\*\.)?[^/?#*@\s]+\/?)$/i;

/**
 * The `queue` section of the configuration (zod, built on first use): the Redis queue that
 * `diskpipe worker` and `diskpipe submit` use, and what a worker accepts from its messages.
 *
 * @example
 * ```ts
 * queueConfigSchema().parse({ url: "redis://queue.internal:6379", allow: { sources: ["/srv/images"] } });
 * ```
 */
export const queueConfigSchema = lazy(() => {
  const z = zod();
  const entries = z
    .array(z.string().regex(ALLOW_ENTRY, "an absolute directory, or scheme://host[:port] (host may start with *.)"))
    .optional();
  // At least one job is kept, so that `submit --wait` finds the job it waits for once it finished.
  const keep = z
    .object({
      count: z.number().int().min(1).max(10_000_000).optional(),
      days: z.number().positive().max(3650).optional(),
    })
    .strict();
  return z
    .object({
      /** `redis://[:password@]host:port[/db]` or `rediss://…` (TLS). */
      url: z
        .string()
        .regex(/^rediss?:\/\//, "a redis:// or rediss:// URL")
        .optional(),
      /** The queue's name (default "diskpipe"). */
      name: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "letters, digits, ., _ and -")
        .optional(),
      /** The prefix of every Redis key of the queue (default "bull"). */
      prefix: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "letters, digits, ., _ and -")
        .optional(),
      /** Attempts of a job failing with fetch-failed, upload-failed, io-failed or no-space (default 3). */
      attempts: z.number().int().min(1).max(20).optional(),
      /** First pause before a retry in ms, doubled each time (default 5000). */
      backoffMs: z.number().int().min(0).max(3_600_000).optional(),
      /** How long a worker's claim on a job lasts without renewal in ms (default 30000): a dead worker's job moves on after it. */
      lockMs: z.number().int().min(500).max(3_600_000).optional(),
      /** How often workers look for jobs of dead workers in ms (default 30000). */
      stalledMs: z.number().int().min(500).max(3_600_000).optional(),
      /** How long to wait for Redis before failing with queue-unavailable in ms (default 10000). */
      connectTimeoutMs: z.number().int().min(100).max(600_000).optional(),
      /** Which completed jobs Redis keeps: the newest `count`, none older than `days` (default 1000 and 7). */
      keepCompleted: keep.optional(),
      /** Which failed jobs Redis keeps: the newest `count`, none older than `days` (default 5000 and 30). */
      keepFailed: keep.optional(),
      /**
       * Where jobs from the queue may read and write. Absent: http(s) and store:// anywhere,
       * no local path. A local path is accepted only under a directory listed here.
       */
      allow: z.object({ sources: entries, destinations: entries }).strict().optional(),
    })
    .strict();
});

/**
 * The configuration schema (zod, built on first use). Unknown keys are errors, so typos are caught.
 *
 * @example
 * ```ts
 * configSchema().safeParse({ jobs: 2, workDir: "/var/tmp" }).success; // true
 * configSchema().safeParse({ jobs: 2, wrokDir: "/var/tmp" }).success; // false: wrokDir is unknown
 * ```
 */
export const configSchema = lazy(() => {
  const z = zod();
  const size = sizeSchema();
  const hook = z.union([
    z.function(),
    z.object({ handler: z.function(), order: z.enum(["pre", "post"]).optional() }).strict(),
  ]);
  const formatSchema = z.looseObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "a format name is lower-case letters, digits and dashes"),
    qemuDriver: z.string().optional(),
  });
  const pluginSchema = z.looseObject({
    name: z.string().min(1),
    enforce: z.enum(["pre", "post"]).optional(),
    apply: z.function().optional(),
    hooks: z
      .object({ preFetch: hook, verify: hook, preConvert: hook, postConvert: hook, upload: hook })
      .partial()
      .strict()
      .optional(),
    formats: z.array(formatSchema).optional(),
    convertOptions: z
      .array(
        z
          .object({
            flags: z
              .string()
              .regex(
                /^(-[a-zA-Z], )?--[a-z][a-z0-9-]*( <[^<>]+>)?$/,
                'a flag is "--name", "--name <value>" or "-n, --name <value>"',
              ),
            description: z.string(),
            key: z.string().min(1),
            type: z.enum(["string", "number"]).optional(),
          })
          .strict(),
      )
      .optional(),
  });
  const flatten = (value: unknown) => (Array.isArray(value) ? flattenPlugins(value as PluginOption[]) : value);
  return z
    .object({
      plugins: z.preprocess(flatten, z.array(pluginSchema)).default([]),
      /** Whether `createPipeline` adds the standard format plugins (raw, qcow2, vmdk, vdi, vhd, vhdx, iso, and the compressed container). */
      standardFormats: z.boolean().default(true),
      /** Where jobs keep their temporary files (default: the OS temp dir). */
      workDir: z.string().optional(),
      /** Largest virtual size accepted. */
      maxSize: size.optional(),
      /** Jobs run at once in batches and the spool (4: a batch of 4 on 2 cores took 10.1 s at 4, 12.7 s at 2, 15.3 s at 1). */
      jobs: z.number().int().min(1).max(64).default(4),
      /** Verify every conversion (`convert --verify`, the spool, workers): source and output content hashes must be equal. */
      verify: z.boolean().default(false),
      qemuImg: z
        .object({
          binary: z.string().optional(),
          /** CPU seconds of a header-parsing run (info, measure, map): 8. */
          cpuSeconds: z.number().positive().optional(),
          /** Address space of a header-parsing run: 1 GiB. */
          addressSpace: size.optional(),
          /** CPU seconds every conversion may take besides its share per GiB (opening, key derivation). */
          convertCpuSeconds: z.number().positive().default(60),
          /** CPU seconds a conversion may take per GiB of virtual size (zlib compresses incompressible data at 20–40 MB/s). */
          convertCpuSecondsPerGiB: z.number().min(0).default(120),
          /** Address space of a conversion (qemu-img converts in tens of MB; its threads reserve more). */
          convertAddressSpace: size.default(2 * 1024 ** 3),
          coroutines: z.number().int().min(1).max(16).optional(),
          outOfOrder: z.boolean().optional(),
          /** Write outputs with O_DIRECT (`-t none`) where the file system allows it. */
          directIo: z.boolean().default(true),
        })
        .strict()
        .prefault({}),
      fetch: z
        .object({
          /** Idle timeout of HTTP transfers in ms: connecting, waiting for an answer, between chunks. */
          timeoutMs: z.number().int().positive().default(30_000),
          /** Attempts after a dropped connection (resumed with Range) or a retryable status. */
          retries: z.number().int().min(0).max(20).default(5),
          /** First pause between attempts in ms, doubled each time (capped at 30 s). */
          backoffMs: z.number().int().min(0).max(60_000).default(500),
          /** Longest a whole download may take in ms, retries included (6 h: 1 TiB at 50 MB/s). */
          deadlineMs: z
            .number()
            .int()
            .positive()
            .default(6 * 60 * 60 * 1000),
          /** Hosts a redirect may lead to besides the URL's own: `host`, `host:port` or `*.domain`. */
          allowRedirects: z.array(z.string().min(1)).default([]),
          /** Refuse every host that resolves to a loopback or link-local address, the first URL's too (a queue worker sets it for jobs from the queue). */
          refuseLocalHosts: z.boolean().default(false),
        })
        .strict()
        .prefault({}),
      queue: queueConfigSchema().optional(),
      throttle: z
        .object({
          bytesPerSecond: size.optional(),
          ioClass: z.enum(["idle", "best-effort"]).optional(),
          /** How qemu-img runs are held back: "auto" (cgroup v2 via systemd-run where available, else ionice), or one of them, or "none". */
          method: z.enum(["auto", "cgroup", "ionice", "none"]).optional(),
        })
        .strict()
        .default({}),
    })
    .strict();
});

type ConfigSchema = ReturnType<typeof configSchema>;

/** What a user writes in `plugins.config.ts`. */
export type UserConfig = Omit<z.input<ConfigSchema>, "plugins"> & { plugins?: PluginOption[] };

/** A validated configuration. */
export type ResolvedConfig = Omit<z.output<ConfigSchema>, "plugins"> & { plugins: Plugin[] };

/**
 * Declares a configuration with full typing. Identity at run time.
 *
 * @example
 * ```ts
 * // plugins.config.ts
 * import { luks } from "diskpipe/plugins";
 * export default defineConfig({ plugins: [luks()], maxSize: "2T", jobs: 2 });
 * ```
 */
export function defineConfig(config: UserConfig): UserConfig {
  return config;
}

/**
 * Validates a configuration with the zod schema (zod is loaded on first use); the error names
 * each bad field.
 *
 * @example
 * ```ts
 * resolveConfig({ jobs: 0 }); // throws: config-invalid "jobs: Too small: expected number to be >=1"
 * ```
 */
export function resolveConfig(config: unknown = {}, source = "configuration"): ResolvedConfig {
  const parsed = configSchema().safeParse(config ?? {});
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const path = issue.path.length ? issue.path.join(".") : "(root)";
      return `${path}: ${issue.message}`;
    });
    throw new DiskpipeError("config-invalid", `invalid ${source}: ${lines.join("; ")}`);
  }
  return parsed.data as ResolvedConfig;
}
