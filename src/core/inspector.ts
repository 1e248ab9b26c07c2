import { FormatRegistry } from "./formats.ts";
import { sortPlugins } from "./hooks.ts";
import { inspectFile } from "./inspect/index.ts";
import type { InspectOptions, InspectResult } from "./inspect/types.ts";
import type { ImageStream, UrlInspection } from "./io/inspect-stream.ts";
import { isHttpUrl } from "./io/location.ts";
import type { Plugin } from "./plugin.ts";

/**
 * The plugins in hook order and the registry of every format they define (a name defined
 * twice is a configuration error). The standard formats are among them only when the caller
 * adds them (`withStandardFormats`).
 *
 * @example
 * ```ts
 * import { luks } from "diskpipe/plugins";
 * const { plugins, formats } = registerFormats([luks()]);
 * formats.driverOf("luks"); // "luks"
 * ```
 */
export function registerFormats(userPlugins: readonly Plugin[]): { plugins: Plugin[]; formats: FormatRegistry } {
  const plugins = sortPlugins([...userPlugins]);
  const formats = new FormatRegistry();
  for (const plugin of plugins) for (const format of plugin.formats ?? []) formats.register(format, plugin.name);
  return { plugins, formats };
}

/** Inspects images with the detectors and `accepts` lists of a set of formats. */
export interface Inspector {
  inspect(image: string | ImageStream, options?: Omit<InspectOptions, "detectors">): Promise<InspectResult>;
}

/**
 * An inspector over `formats`: a local path, an http(s) URL (only as much is downloaded as the
 * verdict needs) or a stream (spooled into `workRoot` when its size is unknown). It needs no
 * configuration beyond the formats, so `diskpipe inspect` with the built-in plugins starts
 * without loading the configuration validator.
 *
 * @example
 * ```ts
 * const inspector = createInspector(registerFormats([]).formats, "/var/tmp/diskpipe");
 * const report = await inspector.inspect("disk.vmdk", { claimed: "vmdk" });
 * ```
 */
export function createInspector(
  formats: FormatRegistry,
  workRoot: string,
  fetch: Omit<UrlInspection, "directory" | "formats" | "signal"> = {},
): Inspector {
  // Loaded for a stream or a URL only: a local inspection starts without the HTTP client.
  const inspectRemote = async (image: string | ImageStream, full: InspectOptions) => {
    const { inspectStream, inspectUrl } = await import("./io/inspect-stream.ts");
    if (typeof image !== "string") return inspectStream(image, full, { directory: workRoot });
    return inspectUrl(image, full, { ...fetch, directory: workRoot, formats });
  };
  return {
    inspect(image, options = {}) {
      const { claimed, accepts, detectors } = formats.inspection(options.claimed);
      const full: InspectOptions = { ...(accepts && { accepts }), ...options, ...(claimed && { claimed }), detectors };
      if (typeof image !== "string" || isHttpUrl(image)) return inspectRemote(image, full);
      return inspectFile(image, full);
    },
  };
}
