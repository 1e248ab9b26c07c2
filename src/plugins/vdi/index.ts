import { defineFormat, definePlugin, metadataBound, type Plugin } from "../../plugin-api.ts";
import { vdiDetector, vdiProblemCodes } from "./detect.ts";

/**
 * VDI (VirtualBox), version 1.1 dynamic and fixed images, with the native detector that checks
 * the header and the block map. One of the standard formats.
 *
 * @example
 * ```ts
 * import { raw } from "diskpipe/plugins";
 * export default defineConfig({ standardFormats: false, plugins: [raw(), vdi()] });
 * ```
 */
export function vdi(): Plugin {
  return definePlugin({
    name: "vdi",
    enforce: "pre",
    formats: [
      defineFormat({
        name: "vdi",
        qemuDriver: "vdi",
        detect: vdiDetector.detect,
        problemCodes: vdiProblemCodes,
        maxFileSize: metadataBound(1 / 256, 8 * 1024 * 1024),
      }),
    ],
  });
}
