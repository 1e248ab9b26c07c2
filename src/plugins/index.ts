/**
 * The format plugins diskpipe ships. Each registers itself through the public API only; the
 * standard ones (`standardFormats()`) are loaded by default.
 *
 * @example
 * ```ts
 * import { ami, luks, ploop, xenserverOvf } from "diskpipe/plugins";
 * export default defineConfig({ plugins: [xenserverOvf(), ami(), luks(), ploop()] });
 * ```
 * @module
 */
export { ami } from "./ami/index.ts";
export { compressed, type CompressedOptions, type DecompressionFacts } from "./compressed/index.ts";
export { luks } from "./luks/index.ts";
export { ova, type OvaOptions } from "./ova/index.ts";
export { ploop } from "./ploop/index.ts";
export { xenserverOvf } from "./xenserver-ovf/index.ts";
export { iso } from "./iso/index.ts";
export { qcow2 } from "./qcow2/index.ts";
export { raw } from "./raw/index.ts";
export { vdi } from "./vdi/index.ts";
export { vhd } from "./vhd/index.ts";
export { vhdx } from "./vhdx/index.ts";
export { vmdk } from "./vmdk/index.ts";
export { standardFormats } from "./standard.ts";
