#!/usr/bin/env node
// Entry point of the `diskpipe` command: runs the CLI built into dist/.
import { existsSync } from "node:fs";

const entry = new URL("../dist/src/cli/main.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write("diskpipe: not built yet: run `npm install` (or `npm run build`) in the diskpipe folder\n");
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv);
