#!/usr/bin/env node
// Entry point of the `diskpipe` command: runs the CLI bundled into dist/bundle/ (npm run build).
import { existsSync } from "node:fs";

const entry = new URL("../dist/bundle/cli/main.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("diskpipe: not built yet: run `npm install` (or `npm run build`) in the diskpipe folder\n");
  process.exit(1);
}
// A reader that stops early (`diskpipe --help | head -1`) only ends the output: the command goes
// on (a job still finishes or cleans up) instead of dying with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error) => {
    if (error.code !== "EPIPE" && error.code !== "ERR_STREAM_DESTROYED") throw error;
  });
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv);
