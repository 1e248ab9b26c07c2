#!/usr/bin/env node
// Runs every test file under test/ with node's test runner, TypeScript loaded by tsx.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const only = process.argv.slice(2);

function collect(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return collect(path);
    return entry.name.endsWith(".test.ts") ? [relative(root, path)] : [];
  });
}

// The files that take longest (5 s or more of a full run on the 2-core CI machine) start first,
// so that the runners do not end with one long file running alone.
const LONGEST_FIRST = [
  "test/examples/examples.test.ts",
  "test/cli/queue.test.ts",
  "test/dashboard/queue-source.test.ts",
  "test/plugins/luks/luks.test.ts",
  "test/house-style.test.ts",
  "test/plugins/compressed/unpack.test.ts",
  "test/plugins/compressed/direct.test.ts",
  "test/cli/watch-queue.test.ts",
  "test/plugins/compressed/index.test.ts",
  "test/plugins/luks/detect-slots.test.ts",
  "test/cli/report.test.ts",
  "test/cli/queue-restart.test.ts",
  "test/dashboard/queue-browser.test.ts",
  "test/cli/convert.test.ts",
  "test/core/stages/content-check.test.ts",
  "test/examples.test.ts",
  "test/cli/checksum.test.ts",
  "test/plugins/compressed/unpack-arriving.test.ts",
  "test/plugins/compressed/arriving-signal.test.ts",
  "test/plugins/compressed/arriving-attacks.test.ts",
  "test/plugins/compressed/decoders-streams.test.ts",
  "test/core/qemu-img-process.test.ts",
  "test/spool/sidecar-trust.test.ts",
];
const rank = (file) => {
  const at = LONGEST_FIRST.indexOf(file);
  return at === -1 ? LONGEST_FIRST.length : at;
};
const files = collect(join(root, "test"))
  .filter((file) => only.length === 0 || only.some((pattern) => file.includes(pattern)))
  .sort()
  .sort((a, b) => rank(a) - rank(b));
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=3", "--test-reporter=spec", ...files],
  { cwd: root, stdio: "inherit" },
);
process.exit(result.status ?? 1);
