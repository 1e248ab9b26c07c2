import {
  defineFormat,
  definePlugin,
  metadataBound,
  type ConvertPlan,
  type JobContext,
  type Plugin,
} from "../../plugin-api.ts";
import { qcow2Detector, qcow2ProblemCodes } from "./detect.ts";

const MiB = 1024 * 1024;

/**
 * qcow2 (versions 2 and 3), with the native detector that refuses backing files, external
 * data files, unknown incompatible features and corrupt tables. One of the standard formats.
 *
 * @example
 * ```ts
 * import { raw } from "diskpipe/plugins";
 * export default defineConfig({ standardFormats: false, plugins: [raw(), qcow2()] });
 * ```
 */
export function qcow2(): Plugin {
  return definePlugin({
    name: "qcow2",
    enforce: "pre",
    // Its one hook runs only for a compressed qcow2 output.
    apply: (spec) => spec.to === "qcow2" && spec.options?.compress === true,
    hooks: { preConvert: compressionType },
    formats: [
      defineFormat({
        name: "qcow2",
        qemuDriver: "qcow2",
        compresses: true,
        detect: qcow2Detector.detect,
        problemCodes: qcow2ProblemCodes,
        // L2 and refcount tables take at most 1/16 of the data (512-byte clusters, extended L2,
        // 64-bit refcounts); each internal snapshot can keep a full copy; 8 MiB covers three
        // 2 MiB clusters of header, L1 and refcount table.
        maxFileSize: (virtualSize, details) =>
          (1 + (Number(details.snapshots) || 0)) * metadataBound(1 / 16, 0)(virtualSize) + 8 * MiB,
      }),
    ],
  });
}

/** A compressed qcow2 output uses zstd where qemu-img has it (5.1 and later), else qemu's default, zlib. */
async function compressionType(plan: ConvertPlan, ctx: JobContext): Promise<ConvertPlan | void> {
  if (plan.output.format !== "qcow2" || !plan.flags.compress) return;
  const [major = 0, minor = 0] = (await ctx.qemu.version()).split(".").map(Number);
  if (major < 5 || (major === 5 && minor < 1)) return;
  return { ...plan, output: { ...plan.output, options: { ...plan.output.options, compression_type: "zstd" } } };
}
