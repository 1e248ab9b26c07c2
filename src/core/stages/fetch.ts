import { constants } from "node:fs";
import { copyFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { DiskpipeError, ImageRejectedError } from "../errors.ts";
import type { FormatRegistry } from "../formats.ts";
import { inspectImage } from "../inspect/index.ts";
import { boundDownload } from "../io/download-limits.ts";
import { assertChecksum, hashFile, parseChecksum } from "../io/hash.ts";
import type { LocalImage } from "../context.ts";
import type { InspectResult } from "../inspect/types.ts";
import type { SourceDriver, StreamInspector } from "../io/types.ts";
import type { RunningJob } from "../job-context.ts";
import { formatSize } from "../size.ts";
import { rejectUnsafe } from "../inspect/reject-unsafe.ts";
import { inspectOptionsFor } from "./inspect.ts";

/** What the fetch stage leaves: the local image, and the verdict a streaming source reached on the way. */
export interface Fetched {
  image: LocalImage;
  inspection?: InspectResult;
}

/**
 * Makes the source a local file (in place for paths; straight into `into`, the output, when
 * the source can) and verifies its checksum. Returns the image and the inspection a streaming
 * source made on the way, if any (never for a claimed container: its content is inspected
 * once unpacked).
 *
 * @example
 * ```ts
 * import { httpSource } from "../io/http-source.ts";
 * import { pathSource } from "../io/path-source.ts";
 * declare const job: RunningJob, registry: FormatRegistry;
 * const { image, inspection } = await fetchJob(job, [httpSource({ timeoutMs: 30_000, retries: 5 }), pathSource], registry);
 * ```
 */
export async function fetchJob(
  job: RunningJob,
  sources: SourceDriver[],
  registry: FormatRegistry,
  into?: string,
): Promise<Fetched> {
  const { spec } = job;
  const checksum = spec.checksum ? parseChecksum(spec.checksum) : undefined;
  const source = sources.find((s) => s.matches(spec.source));
  if (!source) throw new DiskpipeError("usage", `no source handles ${spec.source}`);
  // A claimed container is not judged as it downloads (its content is, once unpacked); when its
  // format says how large it can be for what --max-size allows, the download is cut there: the
  // inspector then only watches, and its verdict is dropped.
  const unpacks = job.handler?.unpack !== undefined;
  const archiveBound =
    unpacks && spec.maxSize !== undefined
      ? job.handler?.maxArchiveSize?.(registry.maxFileSizeFor(spec.maxSize))
      : undefined;
  const streamInspect: StreamInspector | undefined = !unpacks
    ? async (reader, limit, onHead) => {
        const onHeader = boundDownload(spec.source, registry, spec.maxSize, limit);
        const options = { ...inspectOptionsFor(job, registry), onHeader, ...(onHead && { onHeadVerdict: onHead }) };
        const result = await inspectImage(reader, options);
        rejectUnsafe(result, spec.source);
        return result;
      }
    : archiveBound === undefined
      ? undefined
      : async (reader, limit, onHead) => {
          const message = `the download passed what a ${job.handler?.name} container of an image of at most ${formatSize(spec.maxSize ?? 0)} (--max-size) can be`;
          limit(archiveBound, () => rejection(spec.source, message));
          // The head's verdict hands the container on as it arrives, as without the bound.
          return inspectImage(reader, { ...registry.inspection(undefined), ...(onHead && { onHeadVerdict: onHead }) });
        };
  // A container that unpacks as the bytes arrive gets the download while it goes on.
  const handOn =
    into === undefined
      ? (head: InspectResult | undefined) =>
          unpacks ? job.handler?.unpacksArriving === true : registry.get(head?.format ?? "")?.unpacksArriving === true
      : undefined;
  const fetched = await source.fetch(spec.source, job, streamInspect, into, handOn);
  if (fetched.temporary)
    job.onCleanup(() => import("node:fs/promises").then((fs) => fs.rm(fetched.path, { force: true })));
  const verify = async (hash: string | undefined) => {
    if (checksum) {
      const [algorithm, hex] = hash?.split(":") ?? [];
      const actual =
        algorithm === checksum.algorithm
          ? hex
          : await hashFile(image.path, checksum.algorithm, (b) => job.progress(b), job.signal);
      assertChecksum(checksum, actual);
      job.sourceHash = `${checksum.algorithm}:${actual}`;
    } else if (hash) {
      job.sourceHash = hash;
    }
  };
  // A store's recorded format is a claim too; the caller's own claim wins.
  const claimed = spec.from ?? fetched.claimed;
  // What streamed into the output is a container after all (`--from raw` on a .raw.xz): it moves
  // into the work directory, leaving the output's place to what the container holds.
  const container = into !== undefined && fetched.path === into && registry.get(fetched.inspection?.format ?? "");
  const path = container && container.unpack ? await moveAside(into, join(job.workDir, "container")) : fetched.path;
  const image: LocalImage = { path, temporary: fetched.temporary, ...(claimed && { claimed }) };
  if (fetched.arriving) {
    const { done, ...arriving } = fetched.arriving;
    const complete = done.then((d) => verify(d.hash));
    complete.catch(() => undefined);
    image.arriving = { ...arriving, complete };
  } else await verify(fetched.hash);
  return { image, ...(fetched.inspection && !unpacks && { inspection: fetched.inspection }) };
}

/** Renames `from` to `to`, or copies it there and removes it when they lie on different filesystems. */
async function moveAside(from: string, to: string): Promise<string> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EXDEV") throw error;
    await copyFile(from, to, constants.COPYFILE_EXCL);
    await rm(from, { force: true });
  }
  return to;
}

function rejection(source: string, message: string): ImageRejectedError {
  return new ImageRejectedError(`${source} rejected: ${message}`, [{ code: "too-large", message }], { stage: "fetch" });
}
