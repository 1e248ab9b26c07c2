import type { Machine } from "./machine.ts";
import { summarize, type Summary } from "./stats.ts";

/** One line of the results table. */
export interface Row {
  /** "1", "2", … as in the issue. */
  id: string;
  comparison: string;
  /** diskpipe's side. */
  a: Summary;
  /** The baseline, when there is one. */
  b?: Summary;
  /** Paired ratios a/b. */
  ratio?: Summary;
  unit: "s" | "ms" | "MB";
  /** The target as written, e.g. "≤ 1.2". */
  target: string;
  met: boolean;
}

/** What a case hands back. */
export interface CaseResult {
  rows: Row[];
  /** Extra markdown (tables, notes) printed after the main table. */
  sections?: string[];
}

/**
 * A row from two sides' times (ms) with a ratio target `≤ limit` on the median of paired ratios.
 *
 * @example
 * ```ts
 * ratioRow("1", "convert vs qemu-img", a.ms, b.ms, 1.2);
 * ```
 */
export function ratioRow(
  id: string,
  comparison: string,
  a: number[],
  b: number[],
  limit: number,
  target = `≤ ${limit}`,
): Row {
  const ratio = summarize(a.map((value, i) => value / b[i]));
  return {
    id,
    comparison,
    a: summarize(a.map((ms) => ms / 1000)),
    b: summarize(b.map((ms) => ms / 1000)),
    ratio,
    unit: "s",
    target,
    met: ratio.median <= limit,
  };
}

function spread(s: Summary, digits: number): string {
  return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}

function digitsFor(unit: Row["unit"]): number {
  return unit === "s" ? 2 : 0;
}

/**
 * The markdown report: the machine, then one table of medians with min–max spread.
 *
 * @example
 * ```ts
 * process.stdout.write(renderReport(machine, rows, notes));
 * ```
 */
export function renderReport(machine: Machine, rows: Row[], header: string[], sections: string[]): string {
  const lines = [
    "## diskpipe bench",
    "",
    `- machine: ${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB RAM, kernel ${machine.kernel}, ${machine.fs}`,
    `- date: ${machine.date}; node ${machine.node}; qemu-img ${machine.qemuImg}`,
    ...header.map((line) => `- ${line}`),
    "",
    "| # | comparison | diskpipe | baseline | ratio diskpipe/baseline | target | met |",
    "|---|---|---|---|---|---|---|",
    ...rows.map((row) => {
      const d = digitsFor(row.unit);
      const unit = ` ${row.unit}`;
      return `| ${row.id} | ${row.comparison} | ${spread(row.a, d)}${unit} | ${row.b ? `${spread(row.b, d)}${unit}` : "—"} | ${row.ratio ? spread(row.ratio, 3) : "—"} | ${row.target} | ${row.met ? "yes" : "**no**"} |`;
    }),
    "",
    "Cells: median (min–max) over the runs; the ratio is the median of the paired ratios (run i of diskpipe over run i of the baseline, which ran right after it), with their min–max.",
    "",
    ...sections.flatMap((section) => [section, ""]),
  ];
  return `${lines.join("\n")}\n`;
}
