import { defineFormat, definePlugin, metadataBound, stringOption, type Plugin } from "../../plugin-api.ts";
import { vhdDetector, vhdProblemCodes } from "./detect.ts";

/**
 * VHD (qemu's `vpc` driver, also claimed as `vpc`): fixed and dynamic images, written dynamic
 * unless `--subformat fixed`, with the exact virtual size. Its detector reads the footer at
 * the end and refuses differencing disks. One of the standard formats.
 *
 * @example
 * ```ts
 * import { raw } from "diskpipe/plugins";
 * export default defineConfig({ standardFormats: false, plugins: [raw(), vhd()] });
 * ```
 */
export function vhd(): Plugin {
  return definePlugin({
    name: "vhd",
    enforce: "pre",
    formats: [
      defineFormat({
        name: "vhd",
        qemuDriver: "vpc",
        aliases: ["vpc"],
        detect: vhdDetector.detect,
        detectPhase: "tail",
        problemCodes: vhdProblemCodes,
        // A BAT entry and a 512-byte sector bitmap per block (128 KiB at the least).
        maxFileSize: metadataBound(1 / 64, 8 * 1024 * 1024),
        // force_size keeps the virtual size exact instead of rounding it to a CHS geometry.
        outputOptions: (ctx) => ({ subformat: stringOption(ctx, "subformat") ?? "dynamic", force_size: "on" }),
      }),
    ],
  });
}
