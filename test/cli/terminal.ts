import { spawn } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "../helpers/cli.ts";

/** What a command printed on a pseudo-terminal (stdout and stderr together, as a user sees them). */
export interface TerminalRun {
  status: number | null;
  output: string;
}

const quote = (arg: string) => `'${arg.replaceAll("'", `'\\''`)}'`;

/**
 * Runs the built `diskpipe` inside a pseudo-terminal of `columns` × `rows` made by util-linux's
 * `script` (Debian's bsdutils), so stdout and stderr are TTYs as in a user's terminal.
 */
export function diskpipeInTerminal(
  args: string[],
  env: NodeJS.ProcessEnv,
  size = { columns: 110, rows: 30 },
): Promise<TerminalRun> {
  const command = [process.execPath, join(repoRoot, "bin", "diskpipe.mjs"), ...args].map(quote).join(" ");
  const shell = `stty cols ${size.columns} rows ${size.rows}; exec ${command}`;
  return new Promise((resolve, reject) => {
    const child = spawn("script", ["-qfec", shell, "/dev/null"], {
      cwd: repoRoot,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    });
  });
}

/**
 * Plays terminal output onto a screen of lines, understanding what log-update and the CLI send
 * (CR, LF, cursor up/down/column, erase line, synchronized-output brackets; colours and other
 * sequences are dropped), and returns the screen as it stood at the end of each synchronized frame, then at the end.
 */
export function framesOf(output: string): string[][] {
  const lines: string[] = [""];
  let row = 0;
  let col = 0;
  const frames: string[][] = [];
  const screen = () =>
    lines.map((line) => line.trimEnd()).filter((line, i, all) => line !== "" || all.slice(i).some(Boolean));
  const put = (text: string) => {
    const line = [...(lines[row] ?? "")];
    while (line.length < col) line.push(" ");
    for (const char of text) line[col++] = char;
    lines[row] = line.join("");
  };
  // eslint-disable-next-line no-control-regex
  for (const [token, params = "", code] of output.matchAll(/\x1b\[([?\d;]*)([A-Za-z])|\r|\n|[^\x1b\r\n]+/g)) {
    const n = Number(params.replace("?", "")) || 1;
    if (token === "\r") col = 0;
    else if (token === "\n") {
      row++;
      while (lines.length <= row) lines.push("");
    } else if (code === "A") row = Math.max(0, row - n);
    else if (code === "B") row += n;
    else if (code === "G") col = n - 1;
    else if (code === "K") lines[row] = params === "2" ? "" : [...(lines[row] ?? "")].slice(0, col).join("");
    else if (code === "l" && params === "?2026") frames.push(screen());
    else if (code === undefined) put(token);
  }
  frames.push(screen());
  return frames;
}
