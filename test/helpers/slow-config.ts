import { writeFileSync } from "node:fs";

/** What {@link writeSlowConfig} writes besides the throttle. */
export interface SlowConfig {
  workDir: string;
  /** The throttle, in MiB per second (`method: "none"`: the copy engine, downloads and `qemu-img -r`). */
  mibPerSecond: number;
  /** No plugins besides the standard formats (`plugins: []`). */
  noPlugins?: boolean;
  /** The configuration's `queue` section, as given. */
  queue?: Record<string, unknown>;
}

/**
 * Writes a configuration module at `path` whose conversions are held to a slow rate, so that a
 * test can act (signal, stop Redis, look at the dashboard) while a job runs; returns `path`.
 *
 * @example
 * ```ts
 * writeSlowConfig("/tmp/t/slow.config.mjs", { workDir: "/tmp/t/work", mibPerSecond: 4 });
 * ```
 */
export function writeSlowConfig(path: string, config: SlowConfig): string {
  const module = {
    ...(config.noPlugins && { plugins: [] }),
    workDir: config.workDir,
    throttle: { bytesPerSecond: config.mibPerSecond * 1024 * 1024, method: "none" },
    ...(config.queue && { queue: config.queue }),
  };
  writeFileSync(path, `export default ${JSON.stringify(module, null, 2)};\n`);
  return path;
}
