import { UsageError } from "../errors.ts";
import type { FormatRegistry } from "../formats.ts";
import { runFirst } from "../hooks.ts";
import type { JobSpec } from "../job.ts";
import type { FormatDefinition } from "../plugin.ts";

/**
 * Checks the request and finds the format handler that claims it (first match).
 *
 * @example
 * ```ts
 * declare const registry: FormatRegistry;
 * const handler = resolveHandler({ source: "c.tgz", destination: "o.raw", to: "raw", from: "vhd", container: "ovf" }, registry);
 * ```
 */
export function resolveHandler(spec: JobSpec, registry: FormatRegistry): FormatDefinition | undefined {
  if (!spec.to) throw new UsageError("the target format is required (--to FORMAT)");
  const target = registry.require(spec.to);
  if (!registry.isWritable(spec.to)) throw new UsageError(`diskpipe cannot write ${spec.to} images`);
  if (spec.options?.compress === true && !target.compresses) {
    const which = registry
      .all()
      .filter((format) => format.compresses)
      .map((format) => format.name);
    throw new UsageError(
      `diskpipe cannot compress ${spec.to} output (--compress: ${which.join(", ") || "no format loaded"})`,
    );
  }
  target.checkSpec?.(spec);
  const handler = runFirst(registry.all(), (format) =>
    format.claims ? format.claims(spec) : spec.from === format.name && !spec.container,
  );
  if (spec.container && !handler?.unpack)
    throw new UsageError(
      `no plugin handles the container "${spec.container}"${spec.from ? ` with ${spec.from} images` : ""}`,
    );
  if (spec.from && !handler)
    throw new UsageError(`unknown source format "${spec.from}" (known: ${registry.names().join(", ")})`);
  return handler;
}
