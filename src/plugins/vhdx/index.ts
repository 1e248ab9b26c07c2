import { defineFormat, definePlugin, metadataBound, stringOption, type Plugin } from "../../plugin-api.ts";
import { vhdxDetector, vhdxProblemCodes } from "./detect.ts";

/**
 * VHDX: fixed and dynamic images (`--subformat`), with the native detector that refuses logs
 * to replay, parents and corrupt regions. One of the standard formats.
 *
 * @example
 * ```ts
 * import { raw } from "diskpipe/plugins";
 * export default defineConfig({ standardFormats: false, plugins: [raw(), vhdx()] });
 * ```
 */
export function vhdx(): Plugin {
  return definePlugin({
    name: "vhdx",
    enforce: "pre",
    formats: [
      defineFormat({
        name: "vhdx",
        qemuDriver: "vhdx",
        detect: vhdxDetector.detect,
        problemCodes: vhdxProblemCodes,
        // Header, log, metadata and BAT regions in whole MiB, plus the log the header declares.
        maxFileSize: (virtualSize, details) =>
          metadataBound(1 / 64, 16 * 1024 * 1024)(virtualSize) + (Number(details.logLength) || 0),
        outputOptions: (ctx): Record<string, string> => {
          const subformat = stringOption(ctx, "subformat");
          return subformat ? { subformat } : {};
        },
      }),
    ],
  });
}
