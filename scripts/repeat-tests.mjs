#!/usr/bin/env node
// `node scripts/repeat-tests.mjs [RUNS]`: runs the whole suite RUNS times in a row (default 20)
// after one set-up, and prints the tally of each run and of all: a flaky test shows up here.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const runs = Number(process.argv[2] ?? 20);
if (!Number.isInteger(runs) || runs < 1) {
  process.stderr.write("usage: node scripts/repeat-tests.mjs [RUNS]\n");
  process.exit(2);
}
// The set-up and build `npm test` does, once.
for (const args of [[join(root, "scripts", "setup.mjs"), "--test"], [join(root, "scripts", "build.mjs")]]) {
  if (spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" }).status !== 0) process.exit(1);
}
const totals = { pass: 0, fail: 0, cancelled: 0, clean: 0 };
for (let run = 1; run <= runs; run++) {
  const started = Date.now();
  const result = spawnSync(process.execPath, [join(root, "scripts", "test.mjs")], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  const count = (what) => Number(new RegExp(`^ℹ ${what} (\\d+)`, "m").exec(result.stdout)?.[1] ?? Number.NaN);
  const tally = { pass: count("pass"), fail: count("fail"), cancelled: count("cancelled") };
  const clean = result.status === 0 && tally.fail === 0 && tally.cancelled === 0;
  totals.pass += tally.pass;
  totals.fail += tally.fail || 0;
  totals.cancelled += tally.cancelled || 0;
  totals.clean += clean ? 1 : 0;
  const failed = result.stdout
    .split("\n")
    .filter((line) => /^✖ /.test(line))
    .slice(0, 5);
  // A failed run's whole output is kept: a flaky test's message (the states it waited on) is the only clue.
  const kept = clean ? "" : join(tmpdir(), `diskpipe-repeat-run-${run}-${process.pid}.log`);
  if (kept) writeFileSync(kept, `${result.stdout}\n${result.stderr}`);
  process.stdout.write(
    `run ${run}/${runs}: ${tally.pass} passed, ${tally.fail} failed, ${tally.cancelled} cancelled, ${((Date.now() - started) / 1000).toFixed(0)} s${clean ? "" : ` — ${failed.join("; ")} (output: ${kept})`}\n`,
  );
}
process.stdout.write(
  `${totals.clean} of ${runs} runs clean; ${totals.fail} failures and ${totals.cancelled} cancellations in all\n`,
);
process.exitCode = totals.clean === runs ? 0 : 1;
