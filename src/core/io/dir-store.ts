import type { Stats } from "node:fs";
import { lstat, mkdir, open, readdir, rename, rm, type FileHandle } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { z } from "zod";
import { DiskpipeError, UsageError } from "../errors.ts";
import { lazy, zod } from "../lazy-zod.ts";
import { formatSize } from "../size.ts";
import type { ImageInfo, ImageService } from "./image-service.ts";
import { NotRegularError, openRegular, readSmallFile } from "./open-regular.ts";
import { createExclusive, syncPath } from "./durable.ts";
import { copyRanges, sparseCopy } from "./sparse-copy.ts";
import { isTempName, sweepDeadTemps, tempPathBeside } from "./temp.ts";

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** The largest sidecar read: a record is a few hundred bytes. */
const SIDECAR_MAX_BYTES = 64 * 1024;

const sidecarSchema = lazy(() => {
  const z = zod();
  return z.looseObject({
    id: z.string(),
    format: z.string().optional(),
    size: z.number().int().nonnegative(),
    virtualSize: z.number().int().nonnegative().optional(),
    checksum: z.string().optional(),
    contentHash: z.string().optional(),
    storedAt: z.string().optional(),
  });
});

/**
 * The JSON sidecar `ID.json` kept beside each image of a {@link dirStore}. `id` must be the
 * file's ID (otherwise the metadata is invalid); `size` is what `show` reports, so a download
 * of any other size fails, as does one whose sha256 differs from `checksum`.
 *
 * @example
 * ```ts
 * import { readFile } from "node:fs/promises";
 * const record: DirStoreRecord = JSON.parse(await readFile("/srv/images/web-01.json", "utf8"));
 * ```
 */
export type DirStoreRecord = z.infer<ReturnType<typeof sidecarSchema>>;

/**
 * A directory as an image store: image `ID` is the file `ROOT/ID`, its metadata the sidecar
 * `ROOT/ID.json`. IDs are letters, digits, `.`, `_` and `-` (not starting with a dot, not
 * ending in `.json`), so nothing can name a path outside the root. Image and sidecar must be
 * regular files, opened without following links (links, FIFOs and devices are refused, never
 * read: the image is copied from the descriptor that was checked), and a sidecar over 64 KiB
 * is refused unread. An upload is copied under a temporary name and synced, then the image
 * gets its name (image first, sidecar last: an image without its sidecar does not exist for
 * `show`). Without `overwrite` that name is created exclusively (a hard link), so of
 * concurrent uploads to one ID exactly one succeeds and the others fail "already exists";
 * with it, the last rename wins. Each upload first removes the temporary files dead diskpipe
 * processes of this host left in the root.
 *
 * @example
 * ```ts
 * const images = dirStore("/srv/images");
 * definePlugin({ name: "images", ...defineImageService("images", images) });
 * // diskpipe convert disk.vmdk store://images/web-01 --to qcow2
 * ```
 */
export function dirStore(
  root: string,
): ImageService & { list(): Promise<ImageInfo[]>; remove(id: string): Promise<void> } {
  const base = resolve(root);
  const paths = (id: string) => {
    checkId(id);
    return { image: join(base, id), sidecar: join(base, `${id}.json`) };
  };

  async function show(id: string): Promise<ImageInfo> {
    const { image, sidecar } = paths(id);
    const bytes = await readSmallFile(sidecar, SIDECAR_MAX_BYTES, { followLinks: false }).catch(
      (error: NodeJS.ErrnoException) => {
        throw new DiskpipeError(
          "fetch-failed",
          error.code === "ENOENT"
            ? `no image "${id}" in ${base}`
            : `cannot read the metadata of "${id}": ${error.message}`,
        );
      },
    );
    const record = sidecarSchema().safeParse(safeJson(bytes.toString("utf8")));
    if (!record.success) throw new DiskpipeError("fetch-failed", `the metadata of "${id}" in ${base} is not valid`);
    const recorded = record.data;
    if (recorded.id !== id) {
      const which = ID.test(recorded.id) ? `the id "${recorded.id}"` : "an invalid id";
      throw new DiskpipeError("fetch-failed", `the metadata of "${id}" in ${base} is not valid: it records ${which}`);
    }
    await (await openImage(id, image)).handle.close();
    return {
      id,
      size: recorded.size,
      ...(recorded.format && { format: recorded.format }),
      ...(recorded.checksum && { checksum: recorded.checksum }),
    };
  }

  /** Opens the image itself, never a link's target, and only a regular file (never blocking on a FIFO). */
  async function openImage(id: string, image: string): Promise<{ handle: FileHandle; stats: Stats }> {
    try {
      return await openRegular(image, { followLinks: false });
    } catch (error) {
      if (error instanceof NotRegularError)
        throw new DiskpipeError("fetch-failed", `image "${id}" in ${base} is a ${error.kind}, not a regular file`);
      const code = (error as NodeJS.ErrnoException).code;
      throw new DiskpipeError(
        "fetch-failed",
        code === "ENOENT"
          ? `image "${id}" in ${base} is missing`
          : `cannot open image "${id}" in ${base}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  return {
    localDirectory: base,
    show,
    async download(id, toPath, signal) {
      const { handle, stats } = await openImage(id, paths(id).image);
      try {
        const output = await open(toPath, "wx");
        try {
          await copyRanges(handle, output, stats.size, { signal });
        } finally {
          await output.close();
        }
      } finally {
        await handle.close();
      }
    },
    async upload(id, fromPath, meta) {
      const { image, sidecar } = paths(id);
      const exists = () => new UsageError(`image "${id}" already exists in ${base}`);
      await mkdir(base, { recursive: true });
      await sweepDeadTemps(base);
      const existing = await lstat(image).catch(() => undefined);
      if (existing && (!meta.overwrite || !existing.isFile())) throw exists();
      const tempImage = tempPathBeside(image);
      const tempSidecar = tempPathBeside(sidecar);
      try {
        await sparseCopy(fromPath, tempImage);
        const record: DirStoreRecord = {
          id,
          format: meta.format,
          size: meta.size,
          virtualSize: meta.virtualSize,
          checksum: meta.checksum,
          ...(meta.contentHash && { contentHash: meta.contentHash }),
          storedAt: new Date().toISOString(),
        };
        await writeSynced(tempSidecar, `${JSON.stringify(record, null, 2)}\n`);
        if (meta.overwrite) await rename(tempImage, image);
        else if (!(await createExclusive(tempImage, image))) throw exists();
        await rename(tempSidecar, sidecar);
        await rm(tempImage, { force: true });
        await syncPath(base);
      } catch (error) {
        const written = (await lstat(tempImage).catch(() => undefined))?.blocks ?? 0;
        await rm(tempImage, { force: true });
        await rm(tempSidecar, { force: true });
        if ((error as { code?: string }).code === "ENOSPC") {
          throw new DiskpipeError(
            "no-space",
            `no space left in ${base} storing "${id}": ${formatSize(written * 512)} of ${formatSize(meta.size)} written`,
            { cause: error },
          );
        }
        throw error;
      }
    },
    async list() {
      const names = await readdir(base).catch(() => [] as string[]);
      const ids = names
        .filter((n) => n.endsWith(".json") && !isTempName(n))
        .map((n) => n.slice(0, -5))
        .filter((id) => ID.test(id));
      const found = await Promise.all(ids.map((id) => show(id).catch(() => undefined)));
      return found.filter((info): info is ImageInfo => info !== undefined);
    },
    async remove(id) {
      const { image, sidecar } = paths(id);
      await rm(sidecar, { force: true });
      await rm(image, { force: true });
    },
  };
}

function checkId(id: string): void {
  if (!ID.test(id) || id.endsWith(".json") || isTempName(id)) {
    throw new UsageError(
      `invalid image id "${id}": use letters, digits, ".", "_" and "-" (not starting with "." nor ending in ".json")`,
    );
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function writeSynced(path: string, text: string): Promise<void> {
  const handle = await open(path, "wx", 0o644);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
