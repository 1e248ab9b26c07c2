import type { Plugin } from "../plugin-api.ts";
import { compressed } from "./compressed/index.ts";
import { iso } from "./iso/index.ts";
import { ova } from "./ova/index.ts";
import { qcow2 } from "./qcow2/index.ts";
import { raw } from "./raw/index.ts";
import { vdi } from "./vdi/index.ts";
import { vhd } from "./vhd/index.ts";
import { vhdx } from "./vhdx/index.ts";
import { vmdk } from "./vmdk/index.ts";

/**
 * The standard formats, the ones qemu-img reads and writes natively, each its own plugin: a
 * pipeline loads them unless its configuration says `standardFormats: false`. Their order is
 * the order of the format lists diskpipe shows and of their detectors (the first match names a
 * polyglot; vhd's reads the end of the image, after all the others). Last come the containers,
 * unpacked when detected: `compressed` (gzip, xz, zstd, bzip2, tar) and `ova` (an appliance's
 * disks and description).
 *
 * @example
 * ```ts
 * standardFormats().map((plugin) => plugin.name); // ["raw", "qcow2", "vmdk", "vdi", "vhd", "vhdx", "iso", "compressed", "ova"]
 * ```
 */
export function standardFormats(): Plugin[] {
  return [raw(), qcow2(), vmdk(), vdi(), vhd(), vhdx(), iso(), compressed(), ova()];
}
