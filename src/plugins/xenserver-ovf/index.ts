import { rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { DiskpipeError, ImageRejectedError, defineFormat, definePlugin } from "../../plugin-api.ts";
import type { JobContext, Plugin, UnpackedImage } from "../../plugin-api.ts";
import type { ExtractedChain } from "./extract.ts";
import { ChainRejection } from "./rejection.ts";

/**
 * Options of {@link xenserverOvf}.
 *
 * @example
 * ```ts
 * xenserverOvf({ maxEntries: 16, maxTotalBytes: 512 * 2 ** 30 });
 * ```
 */
export interface XenserverOvfOptions {
  /** Most archive entries accepted (default 64). */
  maxEntries?: number;
  /** Most bytes accepted over all archive entries (default 2 TiB). */
  maxTotalBytes?: number;
}

/**
 * The `xenserver-ovf` format plugin: takes a XenServer VHD chain tarball (`--from vhd --container
 * ovf`, a gzipped or plain tar of `0.vhd` (leaf) … `n-1.vhd` (base)), extracts it safely,
 * validates the chain and coalesces it natively into `coalesced.raw` in the job's work directory,
 * which the pipeline then inspects and converts like any raw image. Unsafe or broken archives are
 * refused with an `ImageRejectedError` (exit 3) whose problem code is `archive-entry`,
 * `vhd-chain`, `vhd-checksum`, `vhd-corrupt-header`, `truncated` or `too-large`.
 *
 * @example
 * ```ts
 * import { defineConfig } from "diskpipe";
 * import { xenserverOvf } from "diskpipe/plugins";
 * export default defineConfig({ plugins: [xenserverOvf({ maxEntries: 32 })] });
 * ```
 */
export function xenserverOvf(options: XenserverOvfOptions = {}): Plugin {
  return definePlugin({
    name: "xenserver-ovf",
    formats: [
      defineFormat({
        name: "xenserver-ovf",
        claims: (spec) => spec.container === "ovf" && (spec.from ?? "vhd") === "vhd",
        unpack: (ctx) => unpackChain(ctx, options),
      }),
    ],
  });
}

async function unpackChain(ctx: JobContext, options: XenserverOvfOptions): Promise<UnpackedImage> {
  const archive = ctx.image?.path;
  if (!archive) throw new DiskpipeError("plugin-failed", "xenserver-ovf: no fetched archive to unpack");
  const output = join(ctx.workDir, "coalesced.raw");
  // Loaded when a chain arrives: the tar reader and the VHD code are not every command's start-up cost.
  const [{ closeChain, openChain }, { coalesceChain }, { extractChain }] = await Promise.all([
    import("./chain.ts"),
    import("./coalesce.ts"),
    import("./extract.ts"),
  ]);
  let extracted: ExtractedChain | undefined;
  try {
    extracted = await extractChain(archive, ctx.workDir, { ...options, signal: ctx.signal });
    const chain = await openChain(extracted.files);
    try {
      const size = chain[0].info.size;
      if (ctx.spec.maxSize !== undefined && size > ctx.spec.maxSize) {
        throw new ImageRejectedError(
          `${basename(archive)}: the chain's virtual size ${size} exceeds the limit of ${ctx.spec.maxSize} bytes`,
          [{ code: "too-large", message: `virtual size ${size} exceeds the limit of ${ctx.spec.maxSize} bytes` }],
        );
      }
      await coalesceChain(chain, output, {
        signal: ctx.signal,
        onProgress: (bytes, total) => ctx.progress(bytes, total),
      });
    } finally {
      await closeChain(chain);
    }
    return { path: output, format: "raw" };
  } catch (error) {
    if (error instanceof ChainRejection) {
      throw new ImageRejectedError(`${basename(archive)}: ${error.message}`, [
        { code: error.code, message: error.message },
      ]);
    }
    throw error;
  } finally {
    if (extracted) await rm(extracted.dir, { recursive: true, force: true });
  }
}
