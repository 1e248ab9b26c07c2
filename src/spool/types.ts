import type { Problem } from "../core/errors.ts";
import type { InspectResult } from "../core/inspect/types.ts";
import type { JobEvent, JobResult, Stage } from "../core/job.ts";
import type { Sidecar } from "./sidecar.ts";

/**
 * Where a spool job stands. `retried` marks a failed job whose file went back to `incoming/`
 * (its next run is a new job).
 *
 * @example
 * ```ts
 * const open = (state: SpoolJobState) => state === "queued" || state === "running";
 * ```
 */
export type SpoolJobState = "queued" | "running" | "done" | "failed" | "retried";

/**
 * The reason a job failed, as written to `failed/<name>.error.json`.
 *
 * @example
 * ```ts
 * const error: SpoolError = { code: "image-rejected", message: "qcow2 image has a backing file", stage: "inspect", at: "2025-01-01T00:00:00.000Z" };
 * ```
 */
export interface SpoolError {
  code: string;
  message: string;
  stage?: string;
  plugin?: string;
  hook?: string;
  problems?: Problem[];
  /** ISO time of the failure. */
  at: string;
}

/**
 * One file the spool claimed, with everything the journal and the pipeline's events say about it.
 *
 * @example
 * ```ts
 * spool.events.on((e) => { if (e.type === "done") console.log(e.job.output); });
 * ```
 */
export interface SpoolJob {
  id: string;
  /** The file name as it was dropped. */
  name: string;
  /** Target format: the `incoming/<format>/` folder it was dropped in. */
  to: string;
  state: SpoolJobState;
  /** Absolute path of the claimed file in `work/` (removed once the job is done). */
  source: string;
  /** Absolute path of the output in `done/`; it exists once the job is done. Unset for an unknown target format. */
  output?: string;
  /** Absolute path of the source in `failed/` once the job failed. */
  failedPath?: string;
  /** Whether a sidecar `<name>.json` came with the file. */
  hasSidecar: boolean;
  /** The sidecar as validated, once the job ran. */
  sidecar?: Sidecar;
  /** ISO times. */
  claimedAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** How many times the job started (more than one after a crash or a stop). */
  runs: number;
  /** Live while running: the current stage and its percentage, when known. */
  stage?: Stage;
  percent?: number;
  inspection?: InspectResult;
  timings: Array<{ stage: Stage; ms: number }>;
  hooks: Array<{ hook: string; plugin: string; ms: number }>;
  warnings: string[];
  result?: JobResult;
  error?: SpoolError;
  /** Set when a restart found the output committed by a run the journal had not recorded as done. */
  recovered?: boolean;
}

/**
 * What the spool reports: a job changed state (`queued`, `running`, `done`, `failed`,
 * `retried`), made progress, or its pipeline emitted an event.
 *
 * @example
 * ```ts
 * createSpool({ root: "/srv/spool", pipeline, onEvent: (e) => e.type === "failed" && console.error(e.job.error?.message) });
 * ```
 */
export type SpoolEvent =
  | { type: SpoolJobState; job: SpoolJob }
  | { type: "progress"; job: SpoolJob }
  | { type: "pipeline"; job: SpoolJob; event: JobEvent };

/**
 * Receives spool events.
 *
 * @example
 * ```ts
 * const log: SpoolListener = (e) => console.log(e.type, e.job.name);
 * ```
 */
export type SpoolListener = (event: SpoolEvent) => void;
