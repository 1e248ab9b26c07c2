import { DiskpipeError } from "../errors.ts";
import type { FormatRegistry } from "../formats.ts";
import { inspectImage } from "../inspect/index.ts";
import { boundDownload } from "../io/download-limits.ts";
import { assertChecksum, hashFile, parseChecksum } from "../io/hash.ts";
import type { FetchedImage, SourceDriver, StreamInspector } from "../io/types.ts";
import type { RunningJob } from "../job-context.ts";
import { inspectOptionsFor, rejectUnsafe } from "./inspect.ts";

/**
 * Makes the source a local file (in place for paths; straight into `into`, the output, when
 * the source can), verifies its checksum and, for a container, unpacks it. Returns the
 * inspection a streaming source made on the way, if any.
 *
 * @example
 * ```ts
 * const fetched = await fetchJob(job, [httpSource, pathSource], registry);
 * ```
 */
export async function fetchJob(job: RunningJob, sources: SourceDriver[], registry: FormatRegistry, into?: string): Promise<FetchedImage> {
  const { spec } = job;
  const checksum = spec.checksum ? parseChecksum(spec.checksum) : undefined;
  const source = sources.find((s) => s.matches(spec.source));
  if (!source) throw new DiskpipeError("usage", `no source handles ${spec.source}`);
  const streamInspect: StreamInspector | undefined = job.handler?.unpack
    ? undefined
    : async (reader, limit) => {
        const onHeader = boundDownload(spec.source, registry, spec.maxSize, limit);
        const result = await inspectImage(reader, { ...inspectOptionsFor(job, registry), onHeader });
        rejectUnsafe(result, spec.source);
        return result;
      };
  const fetched = await source.fetch(spec.source, job, streamInspect, into);
  if (fetched.temporary) job.onCleanup(() => import("node:fs/promises").then((fs) => fs.rm(fetched.path, { force: true })));
  if (checksum) {
    const [algorithm, hex] = fetched.hash?.split(":") ?? [];
    const actual = algorithm === checksum.algorithm ? hex : await hashFile(fetched.path, checksum.algorithm, (b) => job.progress(b), job.signal);
    assertChecksum(checksum, actual);
    job.sourceHash = `${checksum.algorithm}:${actual}`;
  } else if (fetched.hash) {
    job.sourceHash = fetched.hash;
  }
  // A store's recorded format is a claim too; the caller's own claim wins.
  const claimed = spec.from ?? fetched.claimed;
  job.image = { path: fetched.path, temporary: fetched.temporary, ...(claimed && { claimed }) };
  if (job.handler?.unpack) {
    const unpacked = await job.handler.unpack(job);
    job.image = { path: unpacked.path, claimed: unpacked.format, temporary: true };
    return { ...job.image };
  }
  return fetched;
}
