import { formatSize } from "../../core/size.ts";
import type { JobRow, Overall } from "./board.ts";

const BAR_WIDTH = 24;
const NAME_WIDTH = 28;

/**
 * Seconds as a short duration: `17 s`, `2 min 10 s`, `1 h 05 min`.
 *
 * @example
 * ```ts
 * formatDuration(130); // "2 min 10 s"
 * ```
 */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

/**
 * A bar of `width` cells, `#` for the share done and `-` for the rest.
 *
 * @example
 * ```ts
 * bar(0.5, 10); // "[#####-----]"
 * ```
 */
export function bar(fraction: number, width = BAR_WIDTH): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
}

/**
 * What a stage has done so far, for a line: `1.2 GiB of 2.6 GiB, 85 MiB/s, ETA 17 s` (the parts
 * that are known; no ETA once the stage has all its bytes).
 *
 * @example
 * ```ts
 * stageDetails({ bytes: 512, total: 1024, rate: 256, eta: 2 }); // "512 B of 1 KiB, 256 B/s, ETA 2 s"
 * ```
 */
export function stageDetails(row: Pick<JobRow, "bytes" | "total" | "rate" | "eta">): string {
  const parts: string[] = [];
  if (row.bytes !== undefined)
    parts.push(
      row.total !== undefined ? `${formatSize(row.bytes)} of ${formatSize(row.total)}` : formatSize(row.bytes),
    );
  if (row.rate) parts.push(`${formatSize(row.rate)}/s`);
  const finished = row.total !== undefined && (row.bytes ?? 0) >= row.total;
  if (row.eta !== undefined && !finished) parts.push(`ETA ${formatDuration(row.eta)}`);
  return parts.join(", ");
}

/**
 * How wide the name column is for these rows: the longest name, at most 28 characters.
 *
 * @example
 * ```ts
 * nameWidthFor([{ id: "j", name: "disk.vmdk", stage: "fetch" }]); // 9
 * ```
 */
export function nameWidthFor(rows: JobRow[]): number {
  return Math.min(NAME_WIDTH, Math.max(0, ...rows.map((row) => [...row.name].length)));
}

/** Cuts `text` to `width` characters, ending in `…` when cut. */
function fit(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, Math.max(0, width - 1)).join("")}…`;
}

/**
 * One running job on a terminal: name, stage, bar and percentage when the stage has a total,
 * bytes, rate and ETA; the name padded or cut to `nameWidth`, the line cut to `columns`.
 *
 * @example
 * ```ts
 * jobLine({ id: "j", name: "disk.vmdk", stage: "convert", bytes: 512, total: 1024, rate: 256, eta: 2 }, 100, 9);
 * // "disk.vmdk  convert  [############------------]   50%  512 B of 1 KiB, 256 B/s, ETA 2 s"
 * ```
 */
export function jobLine(row: JobRow, columns: number, nameWidth = NAME_WIDTH): string {
  const name = fit(row.name, nameWidth).padEnd(nameWidth);
  const meter = row.total ? `  ${bar((row.bytes ?? 0) / row.total)}  ${percent((row.bytes ?? 0) / row.total)}` : "";
  const details = stageDetails(row);
  return fit(`${name}  ${row.stage.padEnd(7)}${meter}${details ? `  ${details}` : ""}`, columns - 1);
}

/**
 * The batch's line on a terminal: a bar of the work done, jobs done and failed of all, the
 * running jobs' summed rate and the ETA (once there is one); its bar under the job lines' bars
 * (names `nameWidth` wide), cut to `columns`.
 *
 * @example
 * ```ts
 * overallLine({ jobs: 8, done: 3, failed: 1, fraction: 0.5, rate: 1024, eta: 130 }, 100, 0);
 * // "total      [############------------]   50%  3 of 8 done, 1 failed, 1 KiB/s, ETA 2 min 10 s"
 * ```
 */
export function overallLine(overall: Overall, columns: number, nameWidth = NAME_WIDTH): string {
  const parts = [`${overall.done} of ${overall.jobs} done`];
  if (overall.failed) parts.push(`${overall.failed} failed`);
  if (overall.rate) parts.push(`${formatSize(overall.rate)}/s`);
  if (overall.eta !== undefined) parts.push(`ETA ${formatDuration(overall.eta)}`);
  return fit(
    `${"total".padEnd(nameWidth + 11)}${bar(overall.fraction)}  ${percent(overall.fraction)}  ${parts.join(", ")}`,
    columns - 1,
  );
}

function percent(fraction: number): string {
  return `${Math.floor(Math.min(1, fraction) * 100)}%`.padStart(4);
}
