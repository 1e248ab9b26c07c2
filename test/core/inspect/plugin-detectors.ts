import type { InspectOptions } from "../../../src/core/inspect/types.ts";
import { registerFormats } from "../../../src/core/inspector.ts";
import { luks, ploop } from "../../../src/plugins/index.ts";

/** The detectors of the shipped format plugins that have one, as a pipeline registers them. */
export const pluginDetectors = registerFormats([ploop(), luks()]).formats.detectors();

/** `options` with the shipped plugins' detectors: what the default configuration inspects with. */
export function withPlugins(options: InspectOptions = {}): InspectOptions {
  return { ...options, detectors: [...pluginDetectors, ...(options.detectors ?? [])] };
}
