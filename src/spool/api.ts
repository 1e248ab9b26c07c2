import type { JobEvent, JobResult, JobSpec } from "../core/job.ts";
import type { Pipeline } from "../core/pipeline.ts";
import type { SpoolLayout } from "./paths.ts";
import type { SpoolJob, SpoolListener } from "./types.ts";

/**
 * Options of {@link createSpool}.
 *
 * @example
 * ```ts
 * const options: SpoolOptions = { root: "/srv/spool", pipeline, poll: true, settleMs: 2000 };
 * ```
 */
export interface SpoolOptions {
  /** The spool directory; `incoming/`, `work/`, `done/`, `failed/` and `journal.jsonl` live in it. */
  root: string;
  /** Runs the jobs; its `limit` (the configuration's `jobs`) bounds how many run at once. */
  pipeline: Pipeline;
  /** Poll for new files instead of using file-system events (network file systems). */
  poll?: boolean;
  /** How long a new file's size must stay unchanged before it is claimed, in ms (default 1000). */
  settleMs?: number;
  /** Receives every spool event (also available through `events.on`). */
  onEvent?: SpoolListener;
  /**
   * Runs the claimed jobs instead of `pipeline` (which still decides the target formats): a
   * shared queue's workers, say (`queueExecutor`). Default: the pipeline, in this process.
   */
  executor?: JobExecutor;
}

/**
 * What runs a spool's jobs: `run` converts one (its events, with the spool's job id, go to the
 * `on` listeners; the first, `queued`, marks the job running), as a {@link Pipeline} does.
 *
 * @example
 * ```ts
 * const executor: JobExecutor = pipeline;
 * const result = await executor.run({ source: "/srv/spool/work/a.vmdk", destination: "/srv/spool/done/a.qcow2", to: "qcow2" }, { id: "m3x9k2ab-4f1c2e" });
 * ```
 */
export interface JobExecutor {
  run(spec: JobSpec, options: { id: string }): Promise<JobResult>;
  on(listener: (event: JobEvent) => void): () => void;
}

/**
 * A watched folder: files dropped in `incoming/<format>/` are claimed, converted to `<format>`
 * into `done/`, or moved to `failed/` with the reason. See {@link createSpool}.
 *
 * @example
 * ```ts
 * const spool: Spool = createSpool({ root: "/srv/spool", pipeline });
 * await spool.start();
 * console.log(spool.jobs().filter((j) => j.state === "failed").map((j) => j.error?.message));
 * ```
 */
export interface Spool {
  readonly layout: SpoolLayout;
  /**
   * Takes the spool's lock, replays the journal, finishes what a crash interrupted, starts
   * watching. One job that cannot be recovered does not stop it (warning
   * `DISKPIPE_SPOOL_RECOVERY`); what it throws is a one-line DiskpipeError (`usage` or `io-failed`).
   */
  start(): Promise<void>;
  /**
   * Stops claiming, aborts running jobs (they are queued again and rerun at the next start) and
   * failures still waiting to be recorded (the next start records them), closes the journal.
   */
  stop(): Promise<void>;
  /** Every job the journal knows, newest first. */
  jobs(): SpoolJob[];
  job(id: string): SpoolJob | undefined;
  /** Moves a failed job's file back into `incoming/<format>/`, where it is claimed again as a new job. */
  retry(id: string): Promise<SpoolJob>;
  /** The formats a file can be dropped for: the `incoming/` folders. */
  targets(): string[];
  /** Resolves once no claimed job is waiting, running, or waiting for its failure to be recorded. */
  idle(): Promise<void>;
  readonly events: { on(listener: SpoolListener): () => void };
}
