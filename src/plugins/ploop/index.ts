import { defineFormat, definePlugin, type Plugin } from "../../plugin-api.ts";

/**
 * Virtuozzo/Parallels images under the name `ploop`, read and written by qemu's `parallels`
 * driver. The native inspector's ploop checks apply to every ploop input.
 *
 * @example
 * ```ts
 * // plugins.config.ts
 * export default defineConfig({ plugins: [ploop()] });
 * // diskpipe convert disk.ploop disk.qcow2 --to qcow2
 * ```
 */
export function ploop(): Plugin {
  return definePlugin({
    name: "ploop",
    formats: [
      defineFormat({
        name: "ploop",
        qemuDriver: "parallels",
        extension: "ploop",
        // The BAT: 4 bytes per cluster of at least 512 bytes, and the header.
        maxFileSize: (virtualSize) => virtualSize + Math.ceil(virtualSize / 64) + 8 * 1024 * 1024,
      }),
    ],
  });
}
