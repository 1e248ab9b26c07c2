import type { JobEvent, Stage } from "../../core/job.ts";
import { messages } from "../log.ts";
import type { ProgressBoard } from "./board.ts";
import { formatDuration, stageDetails } from "./format.ts";

/** The stages worth a line of their own when they begin. */
const ANNOUNCED = new Set<Stage>(["fetch", "inspect", "convert", "upload"]);

/**
 * Progress as plain lines, for a pipe, a file or CI: no escape codes, and a bounded number of
 * lines: one when a job begins fetching, inspecting, converting or uploading, one per tenth of
 * each stage that reports progress (`disk.vmdk: convert 40% (1.2 GiB of 3 GiB, 85 MiB/s, ETA 21 s)`),
 * and for a batch one `total:` line after each job's result but the last.
 *
 * @example
 * ```ts
 * declare const board: ProgressBoard;
 * const lines = new LineProgress(board, true);
 * pipeline.on((event) => lines.show(event, board.update(event)));
 * ```
 */
export class LineProgress {
  readonly #board: ProgressBoard;
  readonly #batch: boolean;
  readonly #lastTenth = new Map<string, number>();

  constructor(board: ProgressBoard, batch: boolean) {
    this.#board = board;
    this.#batch = batch;
  }

  /** Prints what `event` (of the job called `name`) is worth. */
  show(event: JobEvent, name: string): void {
    if (event.type === "stage-start" && ANNOUNCED.has(event.stage)) {
      messages.info(`${name}: ${event.stage}`);
    } else if (event.type === "progress" && event.percent !== undefined) {
      const key = `${event.jobId} ${event.stage}`;
      const tenth = Math.floor(event.percent / 10);
      if (tenth <= (this.#lastTenth.get(key) ?? -1)) return;
      this.#lastTenth.set(key, tenth);
      const eta = event.rate && event.total !== undefined ? (event.total - event.bytes) / event.rate : undefined;
      const details = stageDetails({ ...event, eta });
      messages.info(`${name}: ${event.stage} ${Math.floor(event.percent)}%${details ? ` (${details})` : ""}`);
    } else if (event.type === "done" || event.type === "failed") {
      for (const key of this.#lastTenth.keys()) if (key.startsWith(`${event.jobId} `)) this.#lastTenth.delete(key);
    }
  }

  /** After a job's result, while a batch has jobs left: the batch's `total:` line. */
  afterResult(): void {
    const overall = this.#board.overall();
    if (!this.#batch || overall.done + overall.failed >= overall.jobs) return;
    const parts = [`${overall.done} of ${overall.jobs} done`];
    if (overall.failed) parts.push(`${overall.failed} failed`);
    parts.push(`${Math.floor(overall.fraction * 100)}%`);
    if (overall.eta !== undefined) parts.push(`ETA ${formatDuration(overall.eta)}`);
    messages.info(`total: ${parts.join(", ")}`);
  }
}
