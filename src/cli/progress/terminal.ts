import { createLogUpdate } from "log-update";
import type { ProgressBoard } from "./board.ts";
import { jobLine, nameWidthFor, overallLine } from "./format.ts";

/** How often the bars are redrawn, in milliseconds. */
const FRAME_MS = 100;

/**
 * The live display on a terminal: one line per running job with its bar, bytes, rate and ETA,
 * and for a batch a `total` line under them, redrawn in place (log-update) every 100 ms.
 * Anything else written to the terminal meanwhile goes through {@link TerminalProgress.above},
 * which lifts the bars, writes, and draws them again below.
 *
 * @example
 * ```ts
 * declare const board: ProgressBoard;
 * const display = new TerminalProgress(board, process.stderr, true);
 * pipeline.on((event) => board.update(event));
 * display.above(() => process.stdout.write("converted a -> b\n"));
 * display.stop();
 * ```
 */
export class TerminalProgress {
  readonly #board: ProgressBoard;
  readonly #batch: boolean;
  readonly #render: ReturnType<typeof createLogUpdate>;
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #columns: () => number;

  constructor(board: ProgressBoard, out: NodeJS.WriteStream, batch: boolean) {
    this.#board = board;
    this.#batch = batch;
    // A pseudo-terminal may report 0 columns and rows (no size set): draw as on 80 × 24 then.
    this.#columns = () => out.columns || 80;
    const screen = {
      isTTY: true,
      write: (text: string) => out.write(text),
      get columns() {
        return out.columns || 80;
      },
      get rows() {
        return out.rows || 24;
      },
    };
    // The cursor stays visible: hiding it needs a restore-on-exit handler beside the CLI's own signal handling.
    this.#render = createLogUpdate(screen as unknown as NodeJS.WriteStream, { showCursor: true });
    this.#timer = setInterval(() => this.#draw(), FRAME_MS);
    this.#timer.unref();
  }

  /** Lifts the bars, runs `write` (which prints whole lines), and draws the bars again. */
  above(write: () => void): void {
    this.#render.clear();
    write();
    this.#draw();
  }

  /** Removes the bars and stops redrawing. */
  stop(): void {
    clearInterval(this.#timer);
    this.#render.clear();
    this.#render.done();
  }

  #draw(): void {
    const rows = this.#board.running();
    const columns = this.#columns();
    const width = nameWidthFor(rows);
    const lines = rows.map((row) => jobLine(row, columns, width));
    if (this.#batch) lines.push(overallLine(this.#board.overall(), columns, width));
    if (lines.length === 0) this.#render.clear();
    else this.#render(lines.join("\n"));
  }
}
