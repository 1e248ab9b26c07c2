#!/usr/bin/env node
// `npm run mutate [-- GROUP… | GROUP --only FILE… | --table]`: mutation testing of the safety-critical code with Stryker (its
// tap runner over node's test runner, TypeScript through tsx). Each group mutates a few source
// files and runs only the test files that exercise them; the table at the end gives the score
// per file. Not part of `npm test`: a full run takes hours on two cores.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const reports = join(root, "reports", "mutation");

/**
 * What each group mutates and which tests judge it. `build`: some tests run the built command,
 * so the sandbox is built (the instrumented build carries the mutants into the child
 * processes). `cli`: built, and the mutated code runs mostly in those children, whose coverage
 * is not measured, so every test runs against every mutant; otherwise only the tests that
 * reached a mutant in the test process run it (one reached only in a child counts as surviving).
 */
export const GROUPS = {
  inspect: {
    mutate: [
      "src/core/inspect/**/*.ts",
      "!src/core/inspect/types.ts",
      "src/plugins/{qcow2,vmdk,vhd,vhdx,vdi,iso,ploop,luks}/detect.ts",
      "src/plugins/vmdk/descriptor.ts",
      "src/plugins/raw/partition.ts",
    ],
    // Every test file of the inspector but the two that run qemu-img on hundreds of images,
    // and the unit tests of the detectors that live in format plugins.
    tests: [
      "test/core/inspect/!(qemu-parity|property).test.ts",
      "test/plugins/{qcow2,vmdk,vhd,vhdx,vdi,iso,raw}/*.test.ts",
      "test/plugins/ploop/detect.test.ts",
      "test/plugins/luks/detect*.test.ts",
    ],
  },
  stages: {
    mutate: ["src/core/stages/inspect.ts"],
    tests: ["test/core/stages/inspect.test.ts", "test/core/pipeline.test.ts", "test/core/stages/inspect-units.test.ts", "test/core/stages/second-opinion.test.ts"],
  },
  "qemu-img": {
    mutate: ["src/core/qemu-img.ts", "src/core/qemu-img-args.ts", "src/core/qemu-img-process.ts", "src/core/qemu-img-output.ts"],
    // The unit tests of each part first, then the adapter against the real qemu-img.
    tests: ["test/core/qemu-img-args.test.ts", "test/core/qemu-img-output.test.ts", "test/core/qemu-img-process.test.ts", "test/core/qemu-img-class.test.ts", "test/core/qemu-img.test.ts", "test/core/stages/second-opinion.test.ts", "test/core/io/throttle.test.ts"],
  },
  http: {
    mutate: ["src/core/io/http.ts", "src/core/io/http-download.ts", "src/core/io/http-headers.ts", "src/core/io/download-space.ts", "src/core/io/http-source.ts", "src/core/io/redirects.ts", "src/core/io/download-limits.ts"],
    // The fast unit tests first: a mutant they kill never waits for the slow end-to-end ones.
    tests: [
      "test/core/io/http-headers.test.ts",
      "test/core/io/download-limits.test.ts",
      "test/core/io/redirects.test.ts",
      "test/core/io/redirect-policy.test.ts",
      "test/core/io/http-client.test.ts",
      "test/core/io/http-download.test.ts",
      "test/core/io/http-resume.test.ts",
      "test/core/io/http-download-flow.test.ts",
      "test/core/io/http-source-units.test.ts",
      "test/core/io/units.test.ts",
      "test/core/io/download-space.test.ts",
      "test/core/io/http-source.test.ts",
      "test/core/io/inspect-stream.test.ts",
      "test/core/io/http-sink.test.ts",
      "test/core/io/download-bounds.test.ts",
    ],
    build: true,
  },
  dashboard: {
    mutate: ["src/dashboard/guard.ts", "src/dashboard/auth.ts", "src/dashboard/serve-dashboard.ts"],
    tests: ["test/dashboard/guard.test.ts", "test/dashboard/auth.test.ts", "test/dashboard/serve-dashboard.test.ts", "test/dashboard/app.test.ts"],
  },
  watch: {
    mutate: ["src/cli/watch.ts", "src/cli/dashboard-access.ts"],
    tests: ["test/cli/watch.test.ts"],
    cli: true,
  },
  tar: {
    mutate: ["src/plugins/xenserver-ovf/extract.ts"],
    tests: ["test/plugins/xenserver-ovf/extract.test.ts", "test/plugins/xenserver-ovf/extract-bounds.test.ts", "test/plugins/xenserver-ovf/extract-sources.test.ts"],
  },
  spool: {
    mutate: ["src/spool/claim.ts", "src/spool/recovery.ts", "src/spool/output-names.ts"],
    // The fast unit tests first: a mutant they kill never waits for the end-to-end ones.
    tests: [
      "test/spool/output-names.test.ts",
      "test/spool/claim.test.ts",
      "test/spool/error-file.test.ts",
      "test/spool/temporary-files.test.ts",
      "test/spool/recovery-steps.test.ts",
      "test/spool/retry-recovery.test.ts",
      "test/spool/recovery.test.ts",
      "test/spool/unrecorded-failure.test.ts",
      "test/spool/spool.test.ts",
    ],
  },
  queue: {
    // What a queue writer controls: the validation of a message, and every reader of a value taken from Redis
    // (job fields within bounds, results, progress, journal lines, failure reasons).
    mutate: ["src/queue/message.ts", "src/queue/redis-values.ts", "src/queue/bounded-read.ts", "src/queue/journal.ts", "src/queue/failure.ts", "src/queue/job-view.ts", "src/queue/progress.ts", "src/queue/spool-executor.ts"],
    // The unit tests first, then the ones with a real redis-server whose worker runs in the test process.
    tests: [
      "test/queue/message.test.ts",
      "test/queue/redis-values.test.ts",
      "test/queue/progress.test.ts",
      "test/queue/spool-executor.test.ts",
      "test/queue/bounded-read.test.ts",
      "test/queue/retry.test.ts",
      "test/queue/worker.test.ts",
      "test/queue/fence.test.ts",
    ],
  },
  trust: {
    mutate: ["src/core/io/pin-source.ts", "src/core/io/other-writers.ts", "src/core/io/work-root.ts", "src/core/io/open-regular.ts", "src/core/redact.ts", "src/plugins/luks/passphrase.ts", "src/spool/sidecar.ts"],
    // The fast unit tests first: a mutant they kill never waits for the slow end-to-end ones.
    tests: [
      "test/core/io/open-regular.test.ts",
      "test/core/io/other-writers.test.ts",
      "test/core/io/pin-source.test.ts",
      "test/core/io/pin-source-devices.test.ts",
      "test/core/io/work-root.test.ts",
      "test/plugins/luks/passphrase-units.test.ts",
      "test/spool/sidecar.test.ts",
      "test/core/redact.test.ts",
      "test/core/io/path-source.test.ts",
      "test/plugins/luks/passphrase.test.ts",
      "test/spool/sidecar-trust.test.ts",
      "test/spool/recovery.test.ts",
    ],
  },
};

function configFor(name, group) {
  return {
    testRunner: group.cli ? "tap-whole" : "tap",
    tap: { testFiles: group.tests, nodeArgs: ["--import", "tsx"] },
    mutate: group.mutate,
    coverageAnalysis: group.cli ? "off" : "perTest",
    // Built from the instrumented sources without type checking (the sandbox gets node_modules only later).
    // Stryker splits the command at spaces, without a shell: no quotes (and no spaces in the paths).
    ...((group.cli || group.build) && { buildCommand: `${process.execPath} ${join(root, "node_modules", "typescript", "bin", "tsc")} -p tsconfig.json --noCheck` }),
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
    plugins: ["@stryker-mutator/tap-runner", join(root, "scripts", "stryker-tap-whole-runner.mjs"), join(root, "scripts", "stryker-message-ignorer.mjs")],
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
    return { file: relative(root, join(root, file)), killed, survived, ignored, score: valid === 0 ? 100 : (100 * killed) / valid };
  });
}

/**
 * `GROUP --only FILE…`: one group's tests judging only the named files, with reports and a
 * temporary directory of their own (`GROUP--FILE`), so several files can be worked on at once.
 */
function selection(args) {
  const at = args.indexOf("--only");
  if (at === -1) return { names: args, runs: args.map((name) => [name, GROUPS[name]]) };
  const names = args.slice(0, at);
  const files = args.slice(at + 1);
  if (names.length !== 1 || files.length === 0) throw new Error("usage: mutate GROUP --only FILE…");
  const [name] = names;
  const group = GROUPS[name];
  const runs = group && files.map((file) => [`${name}--${file.replace(/^.*\//, "").replace(/\.ts$/, "")}`, { ...group, mutate: [file] }]);
  return { names, runs };
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
    const env = { ...process.env, DISKPIPE_CORPUS_CACHE: join(reports, "corpus") };
    const run = spawnSync(process.execPath, [join(root, "node_modules", "@stryker-mutator", "core", "bin", "stryker.js"), "run", config], { cwd: root, stdio: "inherit", env });
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
  for (const r of rows) lines.push(`| ${r.group} | \`${r.file}\` | ${r.killed} | ${r.survived} | ${r.ignored} | ${r.score.toFixed(1)} % |`);
  const killed = rows.reduce((s, r) => s + r.killed, 0);
  const survived = rows.reduce((s, r) => s + r.survived, 0);
  lines.push(`| all | | ${killed} | ${survived} | ${rows.reduce((s, r) => s + r.ignored, 0)} | ${((100 * killed) / Math.max(1, killed + survived)).toFixed(1)} % |`);
  return `${lines.join("\n")}\n`;
}

/** `--table`: the scores of every report in reports/mutation/, each file from its newest report. */
function latestTable() {
  const newest = new Map();
  const names = existsSync(reports) ? readdirSync(reports).filter((name) => name.endsWith(".json") && !/\.(config|incremental)\.json$/.test(name)) : [];
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
  const rows = [...newest.values()].map(({ row }) => row).sort((a, b) => order.indexOf(a.group) - order.indexOf(b.group) || a.file.localeCompare(b.file));
  process.stdout.write(table(rows));
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = main(process.argv.slice(2));
