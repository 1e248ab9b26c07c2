import { DiskpipeError, refusalRejection } from "../../plugin-api.ts";
import type { JobContext, UnpackedAppliance } from "../../plugin-api.ts";
import { describeAppliance } from "./description.ts";
import { extractAppliance, type ExtractOptions } from "./extract.ts";
import { OvaRefusal } from "./refusal.ts";

/** The bounds of an unpack (the plugin's options). */
export type UnpackOptions = Pick<ExtractOptions, "maxEntries" | "maxTotalBytes" | "inPlace">;

/**
 * Unpacks the job's OVA into its disks (in the job's work directory, removed with it) and the
 * description of its machine. A refusal of the readers becomes an `ImageRejectedError`
 * (exit 3) with the refusal's problem code; a manifest digest that does not match is
 * `checksum-mismatch` (exit 3).
 *
 * @example
 * ```ts
 * declare const ctx: JobContext;
 * const appliance = await unpackOva(ctx, {}); // { disks: [{ path, format: "vmdk", capacity }], description: { suffix: "ovf", … } }
 * ```
 */
export async function unpackOva(ctx: JobContext, options: UnpackOptions): Promise<UnpackedAppliance> {
  const archive = ctx.image?.path;
  if (!archive) throw new DiskpipeError("plugin-failed", "ova: no fetched appliance to unpack");
  // The fetched image is pinned (nobody else can change it during the job): its plain disks are read in place.
  return unpackArchive(ctx, () => archive, { ...options, inPlace: true });
}

/**
 * Unpacks an appliance from the tar stream `archive` gives (a file's path, or the members
 * themselves), with the readers' refusals turned into the job's errors as {@link unpackOva} does.
 *
 * @example
 * ```ts
 * declare const ctx: JobContext, members: AsyncIterable<Uint8Array>;
 * const appliance = await unpackArchive(ctx, async () => members, {});
 * ```
 */
export async function unpackArchive(
  ctx: JobContext,
  archive: () => string | AsyncIterable<Uint8Array> | Promise<string | AsyncIterable<Uint8Array>>,
  options: UnpackOptions,
): Promise<UnpackedAppliance> {
  const source = ctx.spec.source;
  try {
    const appliance = await extractAppliance(await archive(), ctx.workDir, {
      ...options,
      maxDiskSize: ctx.spec.maxSize,
      signal: ctx.signal,
    });
    return {
      disks: appliance.disks.map(({ disk, path, region }) => ({
        path,
        format: disk.format,
        capacity: disk.capacity,
        ...(region && { region }),
      })),
      description: { suffix: "ovf", render: (outputs) => describeAppliance(appliance, outputs) },
    };
  } catch (error) {
    if (ctx.signal.aborted) throw new DiskpipeError("aborted", `unpacking ${source} was aborted`);
    if (!(error instanceof OvaRefusal)) throw error;
    if (error.code !== "checksum-mismatch") throw refusalRejection(source, error);
    // The error's own code is shown after the message (`[checksum-mismatch]`): it is not written into it too.
    throw new DiskpipeError("checksum-mismatch", `${source} rejected: ${error.message}`, {
      problems: [{ code: error.code, message: error.message }],
      stage: "unpack",
    });
  }
}
