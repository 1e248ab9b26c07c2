import { relative } from "node:path";
import { JOB_ID } from "../spool/paths.ts";
import type { Spool } from "../spool/spool.ts";
import type { SpoolJob } from "../spool/types.ts";
import { countJobs, type JobSource, type SourceEntry } from "./source.ts";

const entryOf = (job: SpoolJob): SourceEntry => ({ job, data: job });

/**
 * The dashboard's view of a spool: its journal's jobs, retry through `spool.retry`, live
 * changes from its events, and uploads into `incoming/<format>/`. Paths show relative to the spool.
 *
 * @example
 * ```ts
 * const source = spoolSource(spool);
 * console.log((await source.list()).length, source.uploads?.targets());
 * ```
 */
export function spoolSource(spool: Spool): JobSource {
  const root = spool.layout.root;
  return {
    kind: "spool",
    label: `watching ${root}`,
    isJobId: (id) => JOB_ID.test(id),
    show: (location) => relative(root, location),
    list: async () => spool.jobs().map(entryOf),
    get: async (id) => {
      const job = spool.job(id);
      return job && entryOf(job);
    },
    counts: async () => countJobs(spool.jobs()),
    retry: async (id) => entryOf(await spool.retry(id)),
    on: (listener) =>
      spool.events.on((event) => {
        if (event.type !== "pipeline") listener(entryOf(event.job));
      }),
    uploads: { incoming: spool.layout.incoming, targets: () => spool.targets() },
  };
}
