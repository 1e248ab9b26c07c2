import type { UserConfig } from "./core/config.ts";
import { createPipeline as createPipelineOf, type Pipeline } from "./core/pipeline.ts";
import { withStandardFormats } from "./standard-formats.ts";

/**
 * Creates a pipeline from a configuration (validated; errors name the bad field), with the
 * standard formats unless `standardFormats: false`.
 *
 * @example
 * ```ts
 * import { createPipeline } from "diskpipe";
 * const pipeline = createPipeline({ plugins: [], maxSize: "1T" }); // raw, qcow2, vmdk, vdi, vhd, vhdx, iso, compressed known
 * ```
 */
export function createPipeline(config: UserConfig = {}): Pipeline {
  if (config.standardFormats === false) return createPipelineOf(config);
  return createPipelineOf({ ...config, plugins: withStandardFormats(config.plugins ?? []) });
}
