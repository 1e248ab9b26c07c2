#!/usr/bin/env node
// `node scripts/mutation-survivors.mjs NAME`: the mutants that survived the last `npm run mutate`
// of group (or `GROUP--FILE` run) NAME, one line each: file:line:column, mutator, replacement.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const [name] = process.argv.slice(2);
if (!name) {
  process.stderr.write("usage: mutation-survivors.mjs NAME (a file of reports/mutation/ without .json)\n");
  process.exit(2);
}
const report = JSON.parse(readFileSync(join(root, "reports", "mutation", `${name}.json`), "utf8"));
for (const [file, { mutants }] of Object.entries(report.files)) {
  for (const m of mutants) {
    if (m.status !== "Survived" && m.status !== "NoCoverage") continue;
    const at = `${file}:${m.location.start.line}:${m.location.start.column}`;
    process.stdout.write(`${at} ${m.status} ${m.mutatorName}: ${JSON.stringify(m.replacement ?? "")}\n`);
  }
}
