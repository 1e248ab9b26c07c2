import { defineFormat, definePlugin, metadataBound, stringOption, UsageError, type Plugin } from "../../plugin-api.ts";
import { vmdkDetector, vmdkProblemCodes } from "./detect.ts";

/** VMDK subformats whose image is one file; the others write extent files beside it, named after the temporary output. */
const SINGLE_FILE = new Set(["monolithicSparse", "streamOptimized"]);

function singleFile(subformat: string | undefined): void {
  if (subformat === undefined || SINGLE_FILE.has(subformat)) return;
  throw new UsageError(
    `vmdk subformat ${subformat} writes extent files beside the output, which diskpipe does not commit: use monolithicSparse (the default) or streamOptimized`,
  );
}

/**
 * VMDK: monolithicSparse and streamOptimized single-file images in and out (`--subformat`),
 * with the native detector that refuses extent files, parents and odd descriptors. One of the
 * standard formats.
 *
 * @example
 * ```ts
 * import { raw } from "diskpipe/plugins";
 * export default defineConfig({ standardFormats: false, plugins: [raw(), vmdk()] });
 * ```
 */
export function vmdk(): Plugin {
  return definePlugin({
    name: "vmdk",
    enforce: "pre",
    formats: [
      defineFormat({
        name: "vmdk",
        qemuDriver: "vmdk",
        detect: vmdkDetector.detect,
        problemCodes: vmdkProblemCodes,
        // qemu-img compresses only the streamOptimized subformat.
        compresses: true,
        checkSpec: (spec) => {
          const subformat = stringOption({ spec }, "subformat");
          singleFile(subformat);
          if (spec.options?.compress === true && subformat !== undefined && subformat !== "streamOptimized")
            throw new UsageError(`--compress writes vmdk as streamOptimized, not ${subformat}`);
        },
        // streamOptimized: a 512-byte marker and up to 511 bytes of padding per grain (4 KiB at the least).
        maxFileSize: metadataBound(1 / 4, 8 * 1024 * 1024),
        outputOptions: (ctx): Record<string, string> => {
          const subformat =
            stringOption(ctx, "subformat") ?? (ctx.spec.options?.compress === true ? "streamOptimized" : undefined);
          singleFile(subformat);
          return subformat ? { subformat } : {};
        },
      }),
    ],
  });
}
