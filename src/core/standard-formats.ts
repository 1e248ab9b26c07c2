import type { JobContext } from "./context.ts";
import { UsageError } from "./errors.ts";
import { definePlugin, defineFormat, type Plugin } from "./plugin.ts";

const MiB = 1024 * 1024;

/** A bound for formats whose metadata grows with the disk: `share` of the virtual size plus a fixed part (headers, logs, big clusters). */
const metadataBound = (share: number, fixed: number) => (virtualSize: number) => virtualSize + Math.ceil(virtualSize * share) + fixed;

const optionString = (value: unknown): string | undefined => (typeof value === "string" && value ? value : undefined);

/** VMDK subformats whose image is one file; the others write extent files beside it, named after the temporary output. */
const SINGLE_FILE_VMDK = new Set(["monolithicSparse", "streamOptimized"]);

function singleFileVmdk(subformat: string | undefined): void {
  if (subformat === undefined || SINGLE_FILE_VMDK.has(subformat)) return;
  throw new UsageError(`vmdk subformat ${subformat} writes extent files beside the output, which diskpipe does not commit: use monolithicSparse (the default) or streamOptimized`);
}

const subformatOption = (ctx: JobContext): Record<string, string> => {
  const subformat = optionString(ctx.spec.options?.subformat);
  return subformat ? { subformat } : {};
};

/**
 * The formats qemu-img reads and writes natively, registered through the public plugin API
 * like any third-party format. The pipeline always loads this plugin first.
 *
 * @example
 * ```ts
 * const pipeline = createPipeline({ plugins: [] }); // raw, qcow2, vmdk, vdi, vhd, vhdx, iso still known
 * ```
 */
export function standardFormats(): Plugin {
  return definePlugin({
    name: "standard-formats",
    enforce: "pre",
    formats: [
      // `qemu-img measure -O raw` always answers the virtual size: knowing it saves a qemu-img run per job.
      defineFormat({ name: "raw", qemuDriver: "raw", extension: "raw", estimateSize: (virtualSize) => virtualSize }),
      defineFormat({
        name: "qcow2",
        qemuDriver: "qcow2",
        // L2 and refcount tables take at most 1/16 of the data (512-byte clusters, extended L2,
        // 64-bit refcounts); each internal snapshot can keep a full copy; 8 MiB covers three
        // 2 MiB clusters of header, L1 and refcount table.
        maxFileSize: (virtualSize, details) => (1 + (Number(details.snapshots) || 0)) * metadataBound(1 / 16, 0)(virtualSize) + 8 * MiB,
      }),
      defineFormat({
        name: "vmdk",
        qemuDriver: "vmdk",
        checkSpec: (spec) => singleFileVmdk(optionString(spec.options?.subformat)),
        // streamOptimized: a 512-byte marker and up to 511 bytes of padding per grain (4 KiB at the least).
        maxFileSize: metadataBound(1 / 4, 8 * MiB),
        outputOptions: (ctx) => {
          singleFileVmdk(optionString(ctx.spec.options?.subformat));
          return subformatOption(ctx);
        },
      }),
      defineFormat({ name: "vdi", qemuDriver: "vdi", maxFileSize: metadataBound(1 / 256, 8 * MiB) }),
      defineFormat({
        name: "vhd",
        qemuDriver: "vpc",
        aliases: ["vpc"],
        // A BAT entry and a 512-byte sector bitmap per block (128 KiB at the least).
        maxFileSize: metadataBound(1 / 64, 8 * MiB),
        // force_size keeps the virtual size exact instead of rounding it to a CHS geometry.
        outputOptions: (ctx) => ({ subformat: optionString(ctx.spec.options?.subformat) ?? "dynamic", force_size: "on" }),
      }),
      defineFormat({
        name: "vhdx",
        qemuDriver: "vhdx",
        // Header, log, metadata and BAT regions in whole MiB, plus the log the header declares.
        maxFileSize: (virtualSize, details) => metadataBound(1 / 64, 16 * MiB)(virtualSize) + (Number(details.logLength) || 0),
        outputOptions: subformatOption,
      }),
      defineFormat({ name: "iso", qemuDriver: "raw", writable: false }),
    ],
  });
}
