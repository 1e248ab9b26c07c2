import { basename } from "node:path";
import type { JobEvent } from "../core/job.ts";
import { escapeControl } from "../core/redact.ts";
import { formatSize } from "../core/size.ts";

/** How the CLI shows progress: a bar on a terminal, plain lines otherwise, nothing with --json. */
export type ReportMode = "tty" | "lines" | "quiet";

/** The mode for this process's stderr and flags. */
export function reportMode(json: boolean, quiet = false): ReportMode {
  if (json || quiet) return "quiet";
  return process.stderr.isTTY ? "tty" : "lines";
}

/**
 * Renders job events on stderr: one progress bar per running job on a TTY, a line per stage
 * and per 10% otherwise.
 *
 * @example
 * ```ts
 * pipeline.on(progressReporter("tty"));
 * ```
 */
export function progressReporter(mode: ReportMode, out: NodeJS.WriteStream = process.stderr): (event: JobEvent) => void {
  const names = new Map<string, string>();
  const lastTenth = new Map<string, number>();
  let barShown = false;
  const clearBar = () => {
    if (barShown) out.write("\r\x1b[2K");
    barShown = false;
  };
  return (event) => {
    if (mode === "quiet") return;
    if (event.type === "queued") names.set(event.jobId, escapeControl(basename(event.spec.source)));
    const name = names.get(event.jobId) ?? event.jobId;
    if (event.type === "warning") {
      clearBar();
      out.write(`warning: ${name}: ${event.message}\n`);
    } else if (event.type === "progress" && event.percent !== undefined) {
      if (mode === "tty") {
        const width = 30;
        const filled = Math.round((event.percent / 100) * width);
        const rate = event.rate ? `  ${formatSize(event.rate)}/s` : "";
        out.write(`\r\x1b[2K${name} ${event.stage} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${event.percent.toFixed(1)}%${rate}`);
        barShown = true;
      } else {
        const tenth = Math.floor(event.percent / 10);
        if (tenth > (lastTenth.get(event.jobId + event.stage) ?? -1)) {
          lastTenth.set(event.jobId + event.stage, tenth);
          out.write(`${name}: ${event.stage} ${Math.floor(event.percent)}%\n`);
        }
      }
    } else if (event.type === "stage-start" && mode === "lines" && ["fetch", "inspect", "convert", "upload"].includes(event.stage)) {
      out.write(`${name}: ${event.stage}\n`);
    } else if (event.type === "done" || event.type === "failed") {
      clearBar();
    }
  };
}
