import { defineFormat, definePlugin, type Plugin } from "../../plugin-api.ts";
import { detectOva, detectOvfDescriptor } from "./detect.ts";

export { OVA_PROBLEM_CODES } from "./refusal.ts";

/**
 * Options of {@link ova}: bounds on the archive.
 *
 * @example
 * ```ts
 * ova({ maxEntries: 64, maxTotalBytes: 2 ** 40 });
 * ```
 */
export interface OvaOptions {
  /** Most members accepted (chunked disks have one per chunk; default 4096). */
  maxEntries?: number;
  /** Most bytes of members accepted in all (default 2 TiB). */
  maxTotalBytes?: number;
}

/**
 * The `ova` container plugin, on by default: an OVA (a tar whose first member is an OVF
 * descriptor) is found by its bytes, its descriptor read with DTDs and entities refused, its
 * manifest verified as members stream, its disks extracted (gzip-compressed and chunked ones
 * too) into the job's work directory; each disk is then inspected and converted to
 * `<stem>-disk<N>.<extension>`, and the machine is described in `<stem>.ovf.json`, all or
 * none. `--container ova` claims one. A plain `.ovf` descriptor (format `ovf-descriptor`) is
 * unpacked the same way from the files beside it, when the job allows it (`--ovf-files`,
 * `spec.options.ovfFiles`; never from a spool or a queue). Refusals (`image-rejected`, exit 3): see
 * `OVA_PROBLEM_CODES`; a digest that does not match is `checksum-mismatch` (exit 3).
 *
 * @example
 * ```ts
 * import { defineConfig } from "diskpipe";
 * import { ova } from "diskpipe/plugins";
 * export default defineConfig({ plugins: [ova({ maxEntries: 64 })] });
 * ```
 */
export function ova(options: OvaOptions = {}): Plugin {
  return definePlugin({
    name: "ova",
    enforce: "pre",
    formats: [
      defineFormat({
        name: "ova",
        detect: (reader) => detectOva(reader),
        claims: (spec) => spec.container === "ova" || (spec.from === "ova" && spec.container === undefined),
        // The XML parser and the archive readers load with the first appliance, not with every command.
        unpack: async (ctx) => (await import("./unpack.ts")).unpackOva(ctx, options),
      }),
      defineFormat({
        name: "ovf-descriptor",
        detect: (reader) => detectOvfDescriptor(reader),
        claims: (spec) =>
          spec.container === "ovf-descriptor" || (spec.from === "ovf-descriptor" && spec.container === undefined),
        unpack: async (ctx) => (await import("./unpack-descriptor.ts")).unpackOvfDescriptor(ctx, options),
      }),
    ],
    convertOptions: [
      {
        flags: "--ovf-files",
        key: "ovfFiles",
        description: "convert a plain .ovf with the files it names beside it (read from its directory)",
      },
    ],
  });
}
