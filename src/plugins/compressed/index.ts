import { defineFormat, definePlugin, type Plugin } from "../../plugin-api.ts";
import { claimedKind, detectCompressed } from "./detect.ts";
import type { UnpackSettings } from "./unpack.ts";

export type { DecompressionFacts } from "./unpack.ts";

export { COMPRESSED_PROBLEM_CODES } from "./refusal.ts";

/**
 * Options of {@link compressed}: the decoders' bounds and paths, the bomb bound without
 * `--max-size`, and hooks that watch each decompression (the settings every unpack gets).
 *
 * @example
 * ```ts
 * compressed({ limits: { cpuSeconds: 3600 }, programs: { xz: "/opt/xz/bin/xz" } });
 * ```
 */
export type CompressedOptions = UnpackSettings;

/**
 * The `compressed` container plugin, on by default: an image compressed with gzip, xz, zstd or
 * bzip2, or a tar holding one disk image (bare or compressed: GCE's `disk.raw` in a `.tar.gz`),
 * is found by its magic bytes (never its name), decompressed into the job's work directory as
 * a sparse file while the inspector reads the head, then inspected and converted like any
 * image. `--container gz|xz|zst|bz2|tar` claims one (the bytes must agree: else
 * `container-mismatch`); `--from` names the image inside. Refusals (`image-rejected`, exit 3):
 * `container-mismatch`, `decompression-bomb`, `compressed-corrupt`, `truncated`,
 * `nested-container`, `archive-entry`, `decoder-limit`.
 *
 * @example
 * ```ts
 * import { defineConfig } from "diskpipe";
 * import { compressed } from "diskpipe/plugins";
 * export default defineConfig({ plugins: [compressed({ limits: { addressSpace: 4 * 2 ** 30 } })] });
 * ```
 */
export function compressed(options: CompressedOptions = {}): Plugin {
  return definePlugin({
    name: "compressed",
    // Like the other standard formats: its format is registered, and its detector runs, before any user plugin's.
    enforce: "pre",
    formats: [
      defineFormat({
        name: "compressed",
        detect: (reader) => detectCompressed(reader),
        // No `problemCodes`: those list what `detect` reports, and this detector reports none (the
        // refusals, COMPRESSED_PROBLEM_CODES, come from unpacking).
        claims: (spec) =>
          claimedKind(spec.container) !== undefined || (spec.from === "compressed" && spec.container === undefined),
        // The decoders, the tar reader and the writer load with the first compressed image, not with every command.
        unpack: async (ctx) => (await import("./unpack.ts")).unpackCompressed(ctx, options),
        // From HTTP, the download is decompressed and inspected as it arrives, in one pass.
        unpacksArriving: true,
        // What one image compresses to at worst (incompressible data grows a little: bzip2 about
        // 0.5%), plus a tar's headers: a claimed container's download stops there.
        maxArchiveSize: (maxFileSize) => maxFileSize + Math.ceil(maxFileSize / 64) + (1 << 20),
      }),
    ],
  });
}
