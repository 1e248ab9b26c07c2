import type { UserConfig } from "./core/config.ts";

/**
 * The configuration diskpipe ships (`plugins.config.ts` at the package root).
 *
 * @example
 * ```ts
 * const config = await defaultConfig();
 * const pipeline = createPipeline({ ...config, jobs: 4 });
 * ```
 */
export async function defaultConfig(): Promise<UserConfig> {
  const module = (await import("../plugins.config.ts")) as { default: UserConfig };
  return module.default;
}
