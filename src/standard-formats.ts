/**
 * The standard formats on diskpipe's entry points: an inspector and the stream and URL
 * inspections get the standard format plugins (src/plugins/standard.ts), and so does a
 * pipeline (create-pipeline.ts) unless its configuration says `standardFormats: false`.
 * The core itself knows no format.
 * @module
 */
import { createInspector, registerFormats, type Inspector } from "./core/inspector.ts";
import type { InspectOptions, InspectResult } from "./core/inspect/types.ts";
import type { ImageStream, UrlInspection } from "./core/io/inspect-stream.ts";
import { flattenPlugins, type Plugin, type PluginOption } from "./core/plugin.ts";
import { standardFormats } from "./plugins/standard.ts";
import { lazy } from "./core/lazy-zod.ts";

/**
 * `plugins` with the standard format plugins ahead of them, leaving out any the list already
 * holds by name (so listing `qcow2()` or a replacement plugin named "qcow2" does not define it twice).
 *
 * @example
 * ```ts
 * import { luks } from "diskpipe/plugins";
 * withStandardFormats([luks()]).map((p) => p.name); // ["qcow2", "vmdk", …, "vhd", "luks"]
 * ```
 */
export function withStandardFormats(plugins: readonly PluginOption[]): Plugin[] {
  const given = flattenPlugins([...plugins]);
  const named = new Set(given.map((plugin) => plugin.name));
  return [...standardFormats().filter((plugin) => !named.has(plugin.name)), ...given];
}

/**
 * An inspector over the standard formats and `plugins`' (see `createInspector`), with its
 * temporary files in `workRoot`.
 *
 * @example
 * ```ts
 * import { luks } from "diskpipe/plugins";
 * const report = await standardInspector([luks()], "/var/tmp/diskpipe").inspect("disk.luks");
 * ```
 */
export function standardInspector(plugins: readonly PluginOption[], workRoot: string): Inspector {
  return createInspector(registerFormats(withStandardFormats(plugins)).formats, workRoot);
}

/** The standard formats' detectors, registered once per process. */
const standardDetectors = lazy(() => registerFormats(standardFormats()).formats.detectors());

const withStandardDetectors = (options: InspectOptions): InspectOptions => ({
  ...options,
  detectors: [...standardDetectors(), ...(options.detectors ?? [])],
});

/**
 * Inspects a stream (see the core's `inspectStream`) with the standard formats' detectors
 * besides `options.detectors`.
 *
 * @example
 * ```ts
 * import { createReadStream } from "node:fs";
 * const result = await inspectStream(createReadStream("disk.qcow2"), { claimed: "qcow2" });
 * ```
 */
export async function inspectStream(
  stream: ImageStream,
  options: InspectOptions = {},
  where: { directory?: string; size?: number } = {},
): Promise<InspectResult> {
  // The HTTP client and the spooling reader load with the first stream or URL, not with every command.
  const { inspectStream: inspectStreamWith } = await import("./core/io/inspect-stream.ts");
  return inspectStreamWith(stream, withStandardDetectors(options), where);
}

/**
 * Inspects an http(s) URL (see the core's `inspectUrl`) with the standard formats' detectors
 * besides `options.detectors`.
 *
 * @example
 * ```ts
 * const result = await inspectUrl("http://127.0.0.1:8080/disk.qcow2");
 * ```
 */
export async function inspectUrl(
  url: string,
  options: InspectOptions = {},
  settings: AbortSignal | UrlInspection = {},
): Promise<InspectResult> {
  const { inspectUrl: inspectUrlWith } = await import("./core/io/inspect-stream.ts");
  return inspectUrlWith(url, withStandardDetectors(options), settings);
}
