import { defineFormat, definePlugin, type Plugin } from "../../plugin-api.ts";
import { partitionDetector, partitionProblemCodes } from "./partition.ts";

/**
 * Raw disks: what an image no format's detector recognizes is. Its detector checks an MBR or
 * GPT partition table (CRCs, bounds, partitions past the end of the disk). One of the standard
 * formats; without it nothing is converted as raw.
 *
 * @example
 * ```ts
 * import { qcow2 } from "diskpipe/plugins";
 * export default defineConfig({ standardFormats: false, plugins: [raw(), qcow2()] });
 * ```
 */
export function raw(): Plugin {
  return definePlugin({
    name: "raw",
    enforce: "pre",
    formats: [
      defineFormat({
        name: "raw",
        qemuDriver: "raw",
        extension: "raw",
        detect: partitionDetector.detect,
        detectorName: "partition",
        // It needs the disk's size (partitions past the end), and a format found first makes its matches moot.
        detectPhase: "tail",
        problemCodes: partitionProblemCodes,
        // `qemu-img measure -O raw` always answers the virtual size: knowing it saves a qemu-img run per job.
        estimateSize: (virtualSize) => virtualSize,
      }),
    ],
  });
}
