import type { Inspector } from "../core/inspector.ts";
import type { Pipeline } from "../core/pipeline.ts";
import type { UserConfig } from "../core/config.ts";
import type { Plugin } from "../core/plugin.ts";
import { standardInspector } from "../standard-formats.ts";
import { workRootFor } from "../core/io/temp.ts";
import { defaultConfig } from "../default-config.ts";
import { findConfigFile, loadConfigFile } from "./load-config.ts";

/** Options every command shares. */
export interface GlobalOptions {
  config?: string;
  json?: boolean;
  jobs?: number;
}

/**
 * The pipeline a command runs: the user's configuration (`--config`, or `plugins.config.ts`
 * in the working directory) or diskpipe's own.
 *
 * @example
 * ```ts
 * const pipeline = await openPipeline({ config: "my.config.ts" });
 * ```
 */
export async function openPipeline(options: GlobalOptions): Promise<Pipeline> {
  return pipelineFrom(findConfigFile(options.config), options);
}

/** Each configuration file is loaded once per run (`convert` reads its flags, then its pipeline). */
const loaded = new Map<string, Promise<UserConfig>>();

function configOf(file: string | undefined): Promise<UserConfig> {
  const key = file ?? "";
  let config = loaded.get(key);
  if (!config) {
    config = file ? loadConfigFile(file) : defaultConfig();
    loaded.set(key, config);
  }
  return config;
}

/**
 * The plugins of the configuration a command would run with (`--config FILE`, or
 * `plugins.config.ts` in the working directory, or diskpipe's own).
 *
 * @example
 * ```ts
 * const flags = (await configuredPlugins(undefined)).flatMap((p) => p.convertOptions ?? []);
 * ```
 */
export async function configuredPlugins(explicit: string | undefined): Promise<Plugin[]> {
  // Not validated here (the pipeline validates the same configuration when the command runs):
  // the validator would cost `convert --help` some 90 ms.
  const config = await configOf(findConfigFile(explicit));
  const { withStandardFormats } = await import("../standard-formats.ts");
  // The standard formats' flags too (the ova plugin's --ovf-files), unless the configuration leaves them out.
  if (config.standardFormats !== false) return withStandardFormats(config.plugins ?? []);
  const { flattenPlugins } = await import("../core/plugin.ts");
  return flattenPlugins(config.plugins ?? []);
}

async function pipelineFrom(file: string | undefined, options: GlobalOptions): Promise<Pipeline> {
  const config = await configOf(file);
  const { createPipeline } = await import("../create-pipeline.ts");
  return createPipeline({ ...config, ...(options.jobs && { jobs: options.jobs }) });
}

/**
 * What `diskpipe inspect` needs: the user's validated pipeline when there is a configuration
 * file, else an inspector over the built-in plugins' formats (no configuration to validate,
 * so the validator is never loaded: 200 images, ~80 ms less).
 *
 * @example
 * ```ts
 * const inspector = await openInspector({});
 * await inspector.inspect("disk.qcow2");
 * ```
 */
export async function openInspector(options: GlobalOptions): Promise<Inspector> {
  const file = findConfigFile(options.config);
  if (file) return pipelineFrom(file, options);
  return standardInspector((await configOf(undefined)).plugins ?? [], workRootFor(undefined));
}
