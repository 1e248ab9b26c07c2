import { defineFormat, definePlugin, type Plugin } from "../../plugin-api.ts";
import { ploopDetector, ploopProblemCodes } from "./detect.ts";

/**
 * Virtuozzo/Parallels images under the name `ploop` (or `parallels`), read and written by
 * qemu's `parallels` driver, with a native detector that checks every ploop input's header.
 * Without this plugin an image in the format is refused as `unsupported-format`.
 *
 * @example
 * ```ts
 * // plugins.config.ts
 * export default defineConfig({ plugins: [ploop()] });
 * // diskpipe convert disk.ploop disk.qcow2 --to qcow2
 * ```
 */
export function ploop(): Plugin {
  return definePlugin({
    name: "ploop",
    formats: [
      defineFormat({
        name: "ploop",
        qemuDriver: "parallels",
        extension: "ploop",
        aliases: ["parallels"],
        detect: ploopDetector.detect,
        problemCodes: ploopProblemCodes,
        // The BAT: 4 bytes per cluster of at least 512 bytes, and the header.
        maxFileSize: (virtualSize) => virtualSize + Math.ceil(virtualSize / 64) + 8 * 1024 * 1024,
      }),
    ],
  });
}
