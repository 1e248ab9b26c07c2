import { escapeControl } from "../core/redact.ts";
import { formatSize } from "../core/size.ts";
import { openPipeline, type GlobalOptions } from "./pipeline.ts";

/** Flags of `diskpipe info`. */
export interface InfoFlags extends GlobalOptions {
  format?: string;
}

/**
 * `diskpipe info`: qemu-img's view of an image the native inspector accepted (`-f` is always
 * the detected format).
 *
 * @example
 * ```ts
 * await runInfo("disk.qcow2", { json: true });
 * ```
 */
export async function runInfo(file: string, flags: InfoFlags): Promise<number> {
  const pipeline = await openPipeline(flags);
  const { info } = await pipeline.info(file, flags.format ? { claimed: flags.format } : {});
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
  } else {
    const lines = [
      `file: ${file}`,
      `format: ${info.format}`,
      `virtual size: ${formatSize(info["virtual-size"])} (${info["virtual-size"]} bytes)`,
      ...(info["actual-size"] !== undefined ? [`disk size: ${formatSize(info["actual-size"])}`] : []),
      ...(info["format-specific"] ? [`format specific: ${JSON.stringify(info["format-specific"].data ?? {})}`] : []),
    ];
    process.stdout.write(`${lines.map(escapeControl).join("\n")}\n`);
  }
  return 0;
}
