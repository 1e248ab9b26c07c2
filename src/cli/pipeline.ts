import { createPipeline, type Pipeline } from "../core/pipeline.ts";
import { defaultConfig } from "../scripting.ts";
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
  const file = findConfigFile(options.config);
  const config = file ? await loadConfigFile(file) : await defaultConfig();
  return createPipeline({ ...config, ...(options.jobs && { jobs: options.jobs }) });
}
