import type { JobContext } from "./context.ts";
import { definePlugin, defineFormat, type Plugin } from "./plugin.ts";

const optionString = (value: unknown): string | undefined => (typeof value === "string" && value ? value : undefined);

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
      defineFormat({ name: "qcow2", qemuDriver: "qcow2" }),
      defineFormat({
        name: "vmdk",
        qemuDriver: "vmdk",
        outputOptions: subformatOption,
      }),
      defineFormat({ name: "vdi", qemuDriver: "vdi" }),
      defineFormat({
        name: "vhd",
        qemuDriver: "vpc",
        // force_size keeps the virtual size exact instead of rounding it to a CHS geometry.
        outputOptions: (ctx) => ({ subformat: optionString(ctx.spec.options?.subformat) ?? "dynamic", force_size: "on" }),
      }),
      defineFormat({
        name: "vhdx",
        qemuDriver: "vhdx",
        outputOptions: subformatOption,
      }),
      defineFormat({ name: "iso", qemuDriver: "raw", writable: false }),
    ],
  });
}
