/**
 * The format plugins diskpipe ships. Each registers itself through the public API only.
 *
 * @example
 * ```ts
 * import { ami, luks, ploop, xenserverOvf } from "./src/plugins/index.ts";
 * export default defineConfig({ plugins: [xenserverOvf(), ami(), luks(), ploop()] });
 * ```
 * @module
 */
export { ami } from "./ami/index.ts";
export { luks } from "./luks/index.ts";
export { ploop } from "./ploop/index.ts";
export { xenserverOvf } from "./xenserver-ovf/index.ts";
