import { realpath } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { DiskpipeError } from "../core/errors.ts";
import { isUnderAllowed, type AllowList } from "./allow.ts";
import { isUrlLocation } from "../core/io/location.ts";

/**
 * Checks that this worker sees a job's local paths: the source file and the destination's
 * directory exist here (a path on storage that not every worker mounts fails with
 * `fetch-failed` or `upload-failed` naming the worker, and is tried again, maybe elsewhere),
 * and that what they resolve to, links followed, is still under the allowed directories.
 *
 * @example
 * ```ts
 * declare const allow: AllowList;
 * await checkVisible({ source: "/shared/in/a.vmdk", destination: "/shared/out/a.qcow2" }, allow, "worker-1");
 * ```
 */
export async function checkVisible(spec: { source: string; destination: string }, allow: AllowList | undefined, worker: string): Promise<void> {
  if (!isUrlLocation(spec.source)) {
    const real = await realpath(spec.source).catch((error: NodeJS.ErrnoException) => {
      throw new DiskpipeError("fetch-failed", `worker ${worker} cannot see the source ${spec.source} (${error.code ?? error.message})`, { stage: "queue" });
    });
    if (!isUnderAllowed(real, allow?.sources)) {
      throw new DiskpipeError("usage", `worker ${worker} does not accept the source ${spec.source}: it leads outside the worker's queue.allow`, { stage: "queue" });
    }
  }
  if (!isUrlLocation(spec.destination)) {
    const directory = dirname(resolve(spec.destination));
    const real = await realpath(directory).catch((error: NodeJS.ErrnoException) => {
      throw new DiskpipeError("upload-failed", `worker ${worker} cannot see the destination's directory ${directory} (${error.code ?? error.message})`, { stage: "queue" });
    });
    if (!isUnderAllowed(real, allow?.destinations)) {
      throw new DiskpipeError("usage", `worker ${worker} does not accept the destination ${spec.destination}: it leads outside the worker's queue.allow`, { stage: "queue" });
    }
  }
}
