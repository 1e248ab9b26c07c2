import { open, realpath } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { DiskpipeError } from "../../plugin-api.ts";
import type { JobContext, UnpackedAppliance } from "../../plugin-api.ts";
import { besideArchive } from "./beside.ts";
import { parseDescriptor } from "./descriptor.ts";
import { DEFAULT_MAX_ENTRIES } from "./extract.ts";
import { OvaRefusal } from "./refusal.ts";
import { unpackArchive, type UnpackOptions } from "./unpack.ts";
import { MAX_DESCRIPTOR_BYTES } from "./xml.ts";

/**
 * Unpacks a plain OVF descriptor whose files lie beside it, as if they were the members of an
 * OVA (every check of an OVA applies). Reading files a descriptor names is allowed only when
 * the job says so (`spec.options.ovfFiles`: `--ovf-files`, which no spool user or queue writer
 * can set) and only from a local path: otherwise `ovf-files` (exit 3).
 *
 * @example
 * ```ts
 * declare const ctx: JobContext; // spec: { source: "/srv/vms/web-01.ovf", options: { ovfFiles: true }, … }
 * const appliance = await unpackOvfDescriptor(ctx, {});
 * ```
 */
export async function unpackOvfDescriptor(ctx: JobContext, options: UnpackOptions): Promise<UnpackedAppliance> {
  const path = ctx.image?.path;
  if (!path) throw new DiskpipeError("plugin-failed", "ova: no fetched descriptor to read");
  const source = ctx.spec.source;
  return unpackArchive(
    ctx,
    async () => {
      if (source.includes("://"))
        throw new OvaRefusal(
          "ovf-files",
          "a plain OVF descriptor is read only from a local path, with its files beside it",
        );
      if (ctx.spec.options?.ovfFiles !== true)
        throw new OvaRefusal(
          "ovf-files",
          "a plain OVF descriptor names files beside it, which are read only when asked (--ovf-files); or convert the appliance as an OVA",
        );
      const descriptor = await readDescriptor(path);
      const { files } = parseDescriptor(descriptor.toString("utf8"));
      const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
      // Through a link, the files (and the manifest, named after it) are those beside the descriptor itself.
      const real = await realpath(resolve(source));
      return besideArchive(dirname(real), basename(real), descriptor, files, maxEntries);
    },
    options,
  );
}

/** The descriptor's bytes, refused past the descriptor bound before they are read. */
async function readDescriptor(path: string): Promise<Buffer> {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    if (size > MAX_DESCRIPTOR_BYTES)
      throw new OvaRefusal("archive-entry", `the OVF descriptor is larger than ${MAX_DESCRIPTOR_BYTES} bytes`);
    const bytes = Buffer.alloc(size);
    const { bytesRead } = await handle.read(bytes, 0, size, 0);
    return bytes.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
