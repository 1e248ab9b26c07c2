import { defineFormat, definePlugin, metadataBound, type Plugin } from "../../plugin-api.ts";
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
    formats: [
      defineFormat({
        name: "qcow2",
        qemuDriver: "qcow2",
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
