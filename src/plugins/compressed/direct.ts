import { rm, stat } from "node:fs/promises";
import { spawnFilter } from "../../plugin-api.ts";
import { exitFailure, positionNow, programPath, TOOLS, watchPosition, type DecoderLimits } from "./decoders.ts";
import { Refusal } from "./refusal.ts";

/** zstd writing the image itself: holes for zero blocks (`--sparse` also on its stdout, a file). */
const DIRECT_ARGS = [...TOOLS.zst.args, "--sparse"];

/**
 * One decode of a whole zstd file by `zstd` itself into a new owner-only file (its stdout): no
 * pipe, no copy through diskpipe. Its bounds are the piped decoder's (CPU time, address space,
 * `--memory`) plus a file-size limit (`prlimit --fsize`): a stream that decodes to more than
 * `maxBytes` is stopped by the kernel (SIGXFSZ) and is a `decompression-bomb`. On any failure,
 * and when `signal` aborts, the process is killed and the file removed before this rejects.
 *
 * @example
 * ```ts
 * await decodeFile("disk.qcow2.zst", "work/decompressed-1a2b", {
 *   maxBytes: 2 ** 31,
 *   limits: { cpuSeconds: 600, addressSpace: 2 ** 31 },
 *   tooLarge: "it decompresses to more than 2 GiB",
 * });
 * ```
 */
export async function decodeFile(
  archive: string,
  path: string,
  options: {
    maxBytes: number;
    limits: DecoderLimits;
    signal?: AbortSignal;
    program?: string;
    onDecoder?: (pid: number) => void;
    onRead?: (bytes: number) => void;
    /** The refusal's message when the file would pass `maxBytes`. */
    tooLarge: string;
  },
): Promise<void> {
  const program = programPath(options.program ?? TOOLS.zst.program, TOOLS.zst.package);
  const onRead = options.onRead ?? (() => undefined);
  let filter: Awaited<ReturnType<typeof spawnFilter>> | undefined;
  // Where zstd had got to in the compressed file, read once more before it is killed.
  const kill = () => (filter?.pid !== undefined && positionNow(filter.pid, onRead), filter?.kill());
  options.signal?.addEventListener("abort", kill, { once: true });
  try {
    if (options.signal?.aborted) throw options.signal.reason;
    filter = await spawnFilter(program, DIRECT_ARGS, {
      input: { file: archive },
      output: { file: path },
      limits: { ...options.limits, fileSize: options.maxBytes },
      ...(options.signal && { signal: options.signal }),
    });
    const pid = filter.pid;
    if (pid !== undefined) options.onDecoder?.(pid);
    if (options.signal?.aborted) kill();
    const stopWatching = pid === undefined ? () => undefined : watchPosition(pid, onRead);
    const run = await filter.finished.finally(stopWatching);
    if (run.exitCode === 0) return;
    if (run.signal === "SIGXFSZ" || /file too large/i.test(run.stderr))
      throw new Refusal("decompression-bomb", options.tooLarge);
    throw exitFailure(run, "zst");
  } catch (error) {
    kill();
    await filter?.finished.catch(() => undefined);
    await rm(path, { force: true });
    throw error;
  } finally {
    options.signal?.removeEventListener("abort", kill);
  }
}
