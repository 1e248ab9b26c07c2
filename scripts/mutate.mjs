#!/usr/bin/env node
// `npm run mutate [-- GROUP… | GROUP --only FILE… | GROUP --together FILE… | --table]`: mutation testing of the safety-critical code with Stryker (its
// tap runner over node's test runner, TypeScript through tsx). Each group mutates a few source
// files and runs only the test files that exercise them; the table at the end gives the score
// per file. Not part of `npm test`: a full run takes hours on two cores.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { GROUPS } from "./mutation-groups.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const reports = join(root, "reports", "mutation");

export { GROUPS };

function configFor(name, group) {
  return {
    testRunner: group.cli ? "tap-whole" : "tap",
    tap: { testFiles: group.tests, nodeArgs: ["--import", "tsx"] },
    mutate: group.mutate,
    coverageAnalysis: group.cli ? "off" : "perTest",
    // Built from the instrumented sources without type checking (the sandbox gets node_modules only later).
    // Stryker splits the command at spaces, without a shell: no quotes (and no spaces in the paths).
    ...((group.cli || group.build) && {
      buildCommand: `${process.execPath} ${join(root, "scripts", "build.mjs")} --noCheck`,
    }),
    ignoreStatic: !group.cli,
    concurrency: Number(process.env.DISKPIPE_MUTATE_CONCURRENCY) || 2,
    timeoutMS: 30_000,
    incremental: true,
    incrementalFile: join(reports, `${name}.incremental.json`),
    reporters: ["progress", "json"],
    jsonReporter: { fileName: join(reports, `${name}.json`) },
    // One per group: cleaning it removes the whole directory, so concurrent groups must not share it.
    tempDirName: join(root, ".stryker-tmp", name),
    cleanTempDir: "always",
    ignorePatterns: ["dist", "demo-output", "reports", ".bench", "bench", "docs", "examples", ".stryker-tmp"],
    plugins: [
      "@stryker-mutator/tap-runner",
      join(root, "scripts", "stryker-tap-whole-runner.mjs"),
      join(root, "scripts", "stryker-message-ignorer.mjs"),
    ],
    ignorers: ["messages"],
  };
}

/** Mutants by file and state, from a Stryker JSON report. */
function tally(reportPath) {
  const report = JSON.parse(readFileSync(reportPath, "utf8"));
  return Object.entries(report.files).map(([file, { mutants }]) => {
    const count = (...states) => mutants.filter((m) => states.includes(m.status)).length;
    const killed = count("Killed", "Timeout");
    const survived = count("Survived", "NoCoverage");
    const ignored = count("Ignored");
    const valid = killed + survived;
    return {
      file: relative(root, join(root, file)),
      killed,
      survived,
      ignored,
      score: valid === 0 ? 100 : (100 * killed) / valid,
    };
  });
}

/**
 * `GROUP --only FILE…`: one group's tests judging only the named files, with reports and a
 * temporary directory of their own (`GROUP--FILE`), so several files can be worked on at once.
 * `GROUP --together FILE…`: the named files in one run (one build, one dry run), named after
 * them all (`GROUP--A+B`).
 */
function selection(args) {
  const at = Math.max(args.indexOf("--only"), args.indexOf("--together"));
  if (at === -1) return { names: args, runs: args.map((name) => [name, GROUPS[name]]) };
  const names = args.slice(0, at);
  const files = args.slice(at + 1);
  if (names.length !== 1 || files.length === 0) throw new Error("usage: mutate GROUP --only|--together FILE…");
  const [name] = names;
  const group = GROUPS[name];
  const stem = (file) => file.replace(/^.*\//, "").replace(/\.ts$/, "");
  if (!group) return { names, runs: undefined };
  if (args[at] === "--together")
    return { names, runs: [[`${name}--${files.map(stem).join("+")}`, { ...group, mutate: files }]] };
  return { names, runs: files.map((file) => [`${name}--${stem(file)}`, { ...group, mutate: [file] }]) };
}

function main(args) {
  if (args[0] === "--table") return latestTable();
  let chosen;
  try {
    chosen = selection(args);
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    return 2;
  }
  const names = chosen.names;
  const unknown = names.filter((name) => !(name in GROUPS));
  if (unknown.length > 0) {
    process.stderr.write(`unknown group ${unknown.join(", ")} (known: ${Object.keys(GROUPS).join(", ")})\n`);
    return 2;
  }
  mkdirSync(reports, { recursive: true });
  const rows = [];
  const runs = names.length > 0 ? chosen.runs : Object.entries(GROUPS);
  for (const [name, group] of runs) {
    const config = join(reports, `${name}.config.json`);
    writeFileSync(config, `${JSON.stringify(configFor(name, group), null, 2)}\n`);
    process.stderr.write(`mutate: group ${name}\n`);
    // The inspector's corpus is built once and read by every mutant's run of its tests.
    // The tests' temporary files go to a directory of this run, removed after it: a test process
    // the runner stops (SIGKILL after a timeout) leaves what it made there, not in /tmp for good.
    const tmp = join(root, ".stryker-tmp", `${name}.tmp`);
    mkdirSync(tmp, { recursive: true });
    const env = { ...process.env, DISKPIPE_CORPUS_CACHE: join(reports, "corpus"), TMPDIR: tmp };
    const run = spawnSync(
      process.execPath,
      [join(root, "node_modules", "@stryker-mutator", "core", "bin", "stryker.js"), "run", config],
      { cwd: root, stdio: "inherit", env },
    );
    rmSync(tmp, { recursive: true, force: true });
    const report = join(reports, `${name}.json`);
    if (run.status !== 0 || !existsSync(report)) {
      process.stderr.write(`mutate: group ${name} failed (exit ${run.status})\n`);
      return 1;
    }
    rows.push(...tally(report).map((row) => ({ group: name.replace(/--.*/, ""), ...row })));
  }
  process.stdout.write(table(rows));
  return 0;
}

/** The Markdown table of `rows`, with a total line. */
function table(rows) {
  const lines = ["| group | file | killed | survived | equivalent (ignored) | score |", "|---|---|---|---|---|---|"];
  for (const r of rows)
    lines.push(`| ${r.group} | \`${r.file}\` | ${r.killed} | ${r.survived} | ${r.ignored} | ${r.score.toFixed(1)} % |`);
  const killed = rows.reduce((s, r) => s + r.killed, 0);
  const survived = rows.reduce((s, r) => s + r.survived, 0);
  lines.push(
    `| all | | ${killed} | ${survived} | ${rows.reduce((s, r) => s + r.ignored, 0)} | ${((100 * killed) / Math.max(1, killed + survived)).toFixed(1)} % |`,
  );
  return `${lines.join("\n")}\n`;
}

/** `--table`: the scores of every report in reports/mutation/, each file from its newest report. */
function latestTable() {
  const newest = new Map();
  const names = existsSync(reports)
    ? readdirSync(reports).filter((name) => name.endsWith(".json") && !/\.(config|incremental)\.json$/.test(name))
    : [];
  for (const name of names) {
    const path = join(reports, name);
    const group = name.replace(/\.json$/, "").replace(/--.*/, "");
    if (!(group in GROUPS)) continue;
    const time = statSync(path).mtimeMs;
    for (const row of tally(path)) {
      const seen = newest.get(row.file);
      if (!seen || seen.time < time) newest.set(row.file, { time, row: { group, ...row } });
    }
  }
  const order = Object.keys(GROUPS);
  const rows = [...newest.values()]
    .map(({ row }) => row)
    .sort((a, b) => order.indexOf(a.group) - order.indexOf(b.group) || a.file.localeCompare(b.file));
  process.stdout.write(table(rows));
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2));
