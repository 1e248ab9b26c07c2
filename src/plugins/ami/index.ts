import { defineFormat, definePlugin, type Plugin } from "../../plugin-api.ts";

/**
 * Amazon machine images: `--from ami` means raw or qcow2, decided by detection and never by
 * the claim; anything else is rejected with `format-mismatch`.
 *
 * @example
 * ```ts
 * // diskpipe convert image.ami out.vmdk --from ami --to vmdk
 * export default defineConfig({ plugins: [ami()] });
 * ```
 */
export function ami(): Plugin {
  return definePlugin({
    name: "ami",
    formats: [defineFormat({ name: "ami", accepts: ["raw", "qcow2"], writable: false })],
  });
}
