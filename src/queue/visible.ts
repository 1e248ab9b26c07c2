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
export async function checkVisible(
  spec: { source: string; destination: string },
  allow: AllowList | undefined,
  worker: string,
): Promise<void> {
  if (!isUrlLocation(spec.source))
    await checkSide(spec.source, spec.source, "source", "fetch-failed", allow?.sources, worker);
  if (!isUrlLocation(spec.destination)) {
    await checkSide(
      spec.destination,
      dirname(resolve(spec.destination)),
      "destination",
      "upload-failed",
      allow?.destinations,
      worker,
    );
  }
}

/** `seen` (the file, or the directory a destination goes in) exists here, and leads, links followed, under `entries`. */
async function checkSide(
  location: string,
  seen: string,
  kind: "source" | "destination",
  unseen: "fetch-failed" | "upload-failed",
  entries: readonly string[] | undefined,
  worker: string,
): Promise<void> {
  const real = await realpath(seen).catch((error: NodeJS.ErrnoException) => {
    const what = kind === "source" ? `the source ${seen}` : `the destination's directory ${seen}`;
    throw new DiskpipeError(unseen, `worker ${worker} cannot see ${what} (${error.code ?? error.message})`, {
      stage: "queue",
    });
  });
  if (!isUnderAllowed(real, entries)) {
    throw new DiskpipeError(
      "usage",
      `worker ${worker} does not accept the ${kind} ${location}: it leads outside the worker's queue.allow`,
      { stage: "queue" },
    );
  }
}
