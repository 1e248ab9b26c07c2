import { copyFileSync } from "node:fs";
import { join } from "node:path";
import type { ApplianceDisk, ApplianceOutput } from "../../src/core/plugin.ts";
import { defineFormat, definePlugin, type PluginHooks } from "../../src/core/plugin.ts";

/** What a rack container starts with (what its format detects). */
export const RACK_MAGIC = "DISKPIPE-TEST-RACK";
const MAGIC = RACK_MAGIC;

/**
 * A container holding an appliance: a file starting with MAGIC (detected), whose disks are the
 * images `disks()` names, copied into the job's work directory by its unpack.
 */
export function rack(
  disks: () => Array<Omit<ApplianceDisk, "path"> & { from: string }>,
  hooks: PluginHooks = {},
  render = (outputs: ApplianceOutput[]): unknown => ({ machine: "m1", outputs }),
) {
  return definePlugin({
    name: "test-rack",
    hooks,
    formats: [
      defineFormat({
        name: "test-rack",
        writable: false,
        async detect(reader) {
          const head = Buffer.from(await reader.read(0, MAGIC.length)).toString("latin1");
          return head === MAGIC ? { format: "test-rack", problems: [] } : null;
        },
        async unpack(ctx) {
          const copied = disks().map(({ from, ...disk }, i) => {
            const path = join(ctx.workDir, `disk${i}`);
            copyFileSync(from, path);
            return { ...disk, path };
          });
          return {
            disks: copied,
            description: {
              suffix: "rack",
              render,
            },
          };
        },
      }),
    ],
  });
}
