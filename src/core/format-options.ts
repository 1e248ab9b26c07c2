import type { JobContext } from "./context.ts";

/**
 * A `maxFileSize` bound for formats whose metadata grows with the disk: the virtual size, plus
 * `share` of it, plus a fixed part (headers, logs, big clusters).
 *
 * @example
 * ```ts
 * defineFormat({ name: "vdi", qemuDriver: "vdi", maxFileSize: metadataBound(1 / 256, 8 * 1024 * 1024) });
 * ```
 */
export function metadataBound(share: number, fixed: number): (virtualSize: number) => number {
  return (virtualSize) => virtualSize + Math.ceil(virtualSize * share) + fixed;
}

/**
 * A job's string option (`spec.options[name]`, from a flag, a sidecar or a script), or
 * undefined when it is absent, empty or not a string.
 *
 * @example
 * ```ts
 * const subformat = stringOption(ctx, "subformat"); // "streamOptimized" from --subformat
 * ```
 */
export function stringOption(ctx: Pick<JobContext, "spec">, name: string): string | undefined {
  const value = ctx.spec.options?.[name];
  return typeof value === "string" && value ? value : undefined;
}
