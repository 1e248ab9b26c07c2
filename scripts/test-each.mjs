#!/usr/bin/env node
// `node scripts/test-each.mjs [PATTERN…]`: runs every test of the suite alone, by name, in a
// process of its own, to find tests that pass only after others (hidden order dependence).
// Prints the ones that fail alone and exits 1 if any does. Not part of `npm test`.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const only = process.argv.slice(2);
const CONCURRENCY = 2;

function collect(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return collect(path);
    return entry.name.endsWith(".test.ts") ? [relative(root, path)] : [];
  });
}

/** The names of the tests (not suites) a file runs. */
function testsOf(file) {
  const run = spawnSync(
    process.execPath,
    ["--import", "tsx", "--test", `--test-reporter=${join(root, "scripts", "list-tests-reporter.mjs")}`, file],
    { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
  );
  const names = run.stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line).name);
  return [...new Set(names)];
}

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Runs one test alone; resolves with its failure output, or undefined when it passed. */
function runAlone(file, name) {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--test", "--test-reporter=tap", `--test-name-pattern=^${escape(name)}$`, file],
      {
        cwd: root,
        env: { ...process.env, DISKPIPE_CORPUS_CACHE: corpusCache },
      },
    );
    let out = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    child.stderr.on("data", (chunk) => (out += chunk));
    child.on("close", (code) => {
      const passed = Number(/^# pass (\d+)/m.exec(out)?.[1] ?? 0);
      // From the first failure on, without stack frames: a property test's counterexample and seed are there.
      const lines = out.split("\n").filter((l) => !/^\s+at /.test(l));
      const from = Math.max(
        0,
        lines.findIndex((l) => /^\s*not ok/.test(l)),
      );
      resolve(
        code === 0 && passed > 0
          ? undefined
          : `exit ${code}, ${passed} passed\n${lines.slice(from, from + 40).join("\n")}`,
      );
    });
  });
}

// The inspector's image corpus is built once and copied for each test that needs it.
const corpusCache = mkdtempSync(join(tmpdir(), "diskpipe-test-each-corpus-"));
process.on("exit", () => rmSync(corpusCache, { recursive: true, force: true }));

const files = collect(join(root, "test"))
  .filter((file) => only.length === 0 || only.some((p) => file.includes(p)))
  .sort();
const work = files.flatMap((file) => testsOf(file).map((name) => ({ file, name })));
process.stderr.write(`test-each: ${work.length} tests in ${files.length} files\n`);
const failures = [];
let next = 0;
let done = 0;
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < work.length) {
      const { file, name } = work[next++];
      const failure = await runAlone(file, name);
      done++;
      if (failure) {
        failures.push({ file, name, failure });
        process.stderr.write(`FAIL alone: ${file} › ${name}\n${failure}\n`);
      } else if (done % 25 === 0) {
        process.stderr.write(`test-each: ${done}/${work.length}\n`);
      }
    }
  }),
);
process.stdout.write(
  `${work.length - failures.length} of ${work.length} tests pass alone; ${failures.length} do not${failures.length ? `:\n${failures.map((f) => `- ${f.file} › ${f.name}`).join("\n")}` : ""}\n`,
);
process.exitCode = failures.length > 0 ? 1 : 0;
