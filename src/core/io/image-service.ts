import { rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { JobContext } from "../context.ts";
import { DiskpipeError, UsageError, isDiskpipeError } from "../errors.ts";
import { fetchCache, type CacheEntryInit, type FetchCache } from "./fetch-cache.ts";
import { assertChecksum, hashFile, parseChecksum } from "./hash.ts";
import { recheckOutput } from "./output-check.ts";
import { makeFetchDir, temporaryKey, untilAborted } from "./temporary-image.ts";
import type { SinkDriver, SourceDriver } from "./types.ts";

/**
 * What a store knows about one image.
 *
 * @example
 * ```ts
 * const info: ImageInfo = { id: "web-01", size: 1_073_741_824, format: "qcow2", checksum: "sha256:…" };
 * ```
 */
export interface ImageInfo {
  id: string;
  /** Bytes of the stored file as the store records them (not measured): a download of another size fails. */
  size: number;
  /** Conventional format name (qcow2, raw, …) as recorded by the store: a claim the inspector must confirm. */
  format?: string;
  /** `sha256:HEX` or `sha512:HEX` of the stored file, verified after download. */
  checksum?: string;
}

/**
 * What diskpipe tells a store about an image it uploads.
 *
 * @example
 * ```ts
 * import { copyFile } from "node:fs/promises";
 * async function upload(id: string, fromPath: string, meta: ImageUploadMeta) { await copyFile(fromPath, `/srv/images/${id}.${meta.format}`); }
 * ```
 */
export interface ImageUploadMeta {
  format: string;
  size: number;
  virtualSize: number;
  /** `sha256:HEX` of the uploaded file. */
  checksum: string;
  /** The job allows replacing an existing image (`--force`). */
  overwrite: boolean;
}

/**
 * An image store a plugin connects diskpipe to (Glance-like services, object stores, a folder).
 * `show` rejects when the image does not exist.
 *
 * @example
 * ```ts
 * import { readFile, writeFile } from "node:fs/promises";
 * const blobs = new Map<string, Uint8Array>();
 * const memory: ImageService = {
 *   async show(id) { const b = blobs.get(id); if (!b) throw new Error("no such image"); return { id, size: b.length }; },
 *   async download(id, toPath) { await writeFile(toPath, blobs.get(id)!); },
 *   async upload(id, fromPath) { blobs.set(id, await readFile(fromPath)); },
 * };
 * ```
 */
export interface ImageService {
  show(id: string): Promise<ImageInfo>;
  /** Writes the image to `toPath` (which does not exist yet); stops when `signal` aborts. */
  download(id: string, toPath: string, signal: AbortSignal): Promise<void>;
  upload(id: string, fromPath: string, meta: ImageUploadMeta): Promise<void>;
  /** For a store on a local filesystem: where uploads land, so free space is checked there too. */
  localDirectory?: string;
}

/**
 * Options of {@link defineImageService}.
 *
 * @example
 * ```ts
 * declare const glance: ImageService;
 * defineImageService("glance", glance, { scheme: "glance" }); // glance://glance/<uuid>
 * ```
 */
export interface ImageServiceOptions {
  /** URL scheme (default "store"): locations are `SCHEME://NAME/ID`. */
  scheme?: string;
  /** Shares downloads between jobs; default: the process-wide cache. */
  cache?: FetchCache;
}

/**
 * Exposes an image service as a source and a sink for `store://NAME/ID` (IDs percent-encoded).
 * Downloads land in a temporary image shared like HTTP downloads, are checked against the
 * store's size and checksum, and the store's format is a claim the inspector must confirm.
 * Uploads are staged in the work directory, re-inspected, hashed, then handed to `upload`.
 * Spread the result into a plugin.
 *
 * @example
 * ```ts
 * export default defineConfig({
 *   plugins: [definePlugin({ name: "images", ...defineImageService("images", dirStore("/srv/images")) })],
 * });
 * // diskpipe convert store://images/ubuntu-24.04 out.raw --to raw
 * ```
 */
export function defineImageService(
  name: string,
  service: ImageService,
  options: ImageServiceOptions = {},
): { sources: SourceDriver[]; sinks: SinkDriver[] } {
  const scheme = (options.scheme ?? "store").toLowerCase();
  if (!/^[a-z][a-z0-9+.-]*$/.test(scheme)) throw new UsageError(`invalid URL scheme "${scheme}"`);
  if (!/^[a-z0-9][a-z0-9-]*$/i.test(name))
    throw new UsageError(`invalid image service name "${name}": letters, digits and dashes`);
  const prefix = `${scheme}://${name.toLowerCase()}/`;
  const matches = (location: string) => location.toLowerCase().startsWith(prefix);
  const idOf = (location: string) => {
    const encoded = location.slice(prefix.length);
    let id: string;
    try {
      id = decodeURIComponent(encoded);
    } catch {
      throw new UsageError(`invalid image id in ${location}`);
    }
    if (!id) throw new UsageError(`${location} names no image (expected ${prefix}ID)`);
    return id;
  };
  const cache = options.cache ?? fetchCache;
  const label = `${scheme}://${name}`;

  const source: SourceDriver = {
    name: `${label} (source)`,
    matches,
    async fetch(location, ctx) {
      const id = idOf(location);
      const algorithm = ctx.spec.checksum ? parseChecksum(ctx.spec.checksum).algorithm : "sha256";
      const workRoot = dirname(ctx.workDir);
      const lease = cache.acquire(temporaryKey(workRoot, location), () =>
        startDownload(service, label, id, workRoot, algorithm),
      );
      try {
        const done = (await untilAborted(lease.ready, ctx.signal)) as StoreDownload;
        ctx.progress(done.size, done.size);
        ctx.onCleanup(() => lease.release());
        return { path: done.path, temporary: false, hash: done.hash, ...(done.format && { claimed: done.format }) };
      } catch (error) {
        await lease.release();
        throw error;
      }
    },
  };

  const sink: SinkDriver = {
    name: `${label} (sink)`,
    matches,
    async open(location, ctx) {
      const id = idOf(location);
      // An image the store cannot find is absent; an id the store refuses (usage) fails now, before converting.
      const exists = (error: unknown) =>
        isDiskpipeError(error) && error.code === "usage" ? Promise.reject(error) : false;
      if (!ctx.spec.overwrite && (await service.show(id).then(() => true, exists))) {
        throw new UsageError(`destination ${location} already exists (pass --force to replace it)`);
      }
      const staged = join(ctx.workDir, `upload.${ctx.formats.extensionOf(ctx.spec.to)}`);
      return {
        target: {
          path: staged,
          blockDevice: false,
          directIo: false,
          staged: { ...(service.localDirectory && { finalDirectory: service.localDirectory }) },
        },
        async commit(job: JobContext) {
          const checked = await recheckOutput(staged, job);
          const checksum = `sha256:${await hashFile(staged, "sha256", undefined, job.signal)}`;
          const meta: ImageUploadMeta = {
            format: job.spec.to,
            size: (await stat(staged)).size,
            virtualSize: checked.virtualSize,
            checksum,
            overwrite: Boolean(job.spec.overwrite),
          };
          await service.upload(id, staged, meta).catch((error: unknown) => {
            throw storeError(error, "upload-failed", `${label}: upload of ${id} failed`);
          });
          await rm(staged, { force: true });
        },
        abort: () => rm(staged, { force: true }),
      };
    },
  };

  return { sources: [source], sinks: [sink] };
}

interface StoreDownload {
  path: string;
  size: number;
  hash: string;
  format?: string;
}

function startDownload(
  service: ImageService,
  label: string,
  id: string,
  workRoot: string,
  algorithm: "sha256" | "sha512",
): CacheEntryInit<undefined> {
  const controller = new AbortController();
  const dir = makeFetchDir(workRoot);
  const ready = (async (): Promise<StoreDownload> => {
    const info = await service.show(id).catch((error: unknown) => {
      throw storeError(error, "fetch-failed", `${label}: cannot find image ${id}`);
    });
    const path = join(await dir, "image");
    await service.download(id, path, controller.signal).catch((error: unknown) => {
      throw storeError(error, "fetch-failed", `${label}: download of ${id} failed`);
    });
    const size = (await stat(path)).size;
    if (size !== info.size)
      throw new DiskpipeError("fetch-failed", `${label}: ${id} is ${size} bytes, the store says ${info.size}`);
    const recorded = info.checksum ? parseChecksum(info.checksum) : undefined;
    const hex = await hashFile(path, recorded?.algorithm ?? algorithm, undefined, controller.signal);
    if (recorded) assertChecksum(recorded, hex);
    return {
      path,
      size,
      hash: `${recorded?.algorithm ?? algorithm}:${hex}`,
      ...(info.format && { format: info.format }),
    };
  })();
  ready.catch(() => undefined);
  return {
    value: undefined,
    ready,
    async dispose() {
      controller.abort(new Error("the download is no longer needed"));
      await ready.catch(() => undefined);
      await rm(await dir, { recursive: true, force: true });
    },
  };
}

function storeError(error: unknown, code: "fetch-failed" | "upload-failed", context: string): DiskpipeError {
  if (isDiskpipeError(error)) return error;
  if ((error as { code?: string } | null)?.code === "ENOSPC")
    return new DiskpipeError("no-space", `${context}: no space left on device`, { cause: error });
  return new DiskpipeError(code, `${context}: ${error instanceof Error ? error.message : String(error)}`, {
    cause: error,
  });
}
