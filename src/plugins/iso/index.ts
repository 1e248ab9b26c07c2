import { defineFormat, definePlugin, type Plugin } from "../../plugin-api.ts";
import { isoDetector } from "./detect.ts";

/**
 * ISO 9660 and UDF images: read as raw by qemu-img, never written. Its detector finds the
 * volume descriptors and the volume size; a claim of iso also accepts a raw disk with a GPT
 * or MBR table (a hybrid image). One of the standard formats.
 *
 * @example
 * ```ts
 * import { raw } from "diskpipe/plugins";
 * export default defineConfig({ standardFormats: false, plugins: [raw(), iso()] });
 * ```
 */
export function iso(): Plugin {
  return definePlugin({
    name: "iso",
    enforce: "pre",
    // A hybrid ISO is also a disk with a partition table, which the raw format's detector reports.
    formats: [
      defineFormat({
        name: "iso",
        qemuDriver: "raw",
        writable: false,
        detect: isoDetector.detect,
        accepts: ["iso", "raw:gpt", "raw:mbr"],
      }),
    ],
  });
}
