import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
const MAX_LINES = 300;

/** Every code file under `dir` (TypeScript and JavaScript modules), as paths relative to the repository. */
function codeFiles(dir: string): string[] {
  return readdirSync(join(repoRoot, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return codeFiles(path);
    return /\.(ts|mjs|js)$/.test(entry.name) ? [path] : [];
  });
}

describe("house style: the rules of the tree check themselves", () => {
  it(`no code file is longer than ${MAX_LINES} lines`, () => {
    const files = ["src", "test", "scripts", "bench", "examples", "bin"].flatMap(codeFiles);
    assert.ok(files.length > 300, `only ${files.length} files found: the walk is broken`);
    const long = files
      .map((file) => ({ file, lines: readFileSync(join(repoRoot, file), "utf8").split("\n").length - 1 }))
      .filter(({ lines }) => lines > MAX_LINES)
      .map(({ file, lines }) => `${relative(".", file)}: ${lines} lines`);
    assert.deepEqual(long, []);
  });

  it("the tree is formatted (prettier --check, line width 120, .prettierrc.json)", () => {
    const prettier = join(repoRoot, "node_modules", "prettier", "bin", "prettier.cjs");
    const result = spawnSync(process.execPath, [prettier, "--check", "--log-level", "warn", "."], {
      cwd: repoRoot,
      encoding: "utf8",
    });
    assert.equal(result.status, 0, `run npm run format; unformatted:\n${result.stderr}${result.stdout}`);
  });

  it("the tests, the bench and the examples type-check too (tsconfig.test.json; npm run build checks only src/)", () => {
    const tsc = join(repoRoot, "node_modules", "typescript", "bin", "tsc");
    const result = spawnSync(process.execPath, [tsc, "-p", "tsconfig.test.json"], { cwd: repoRoot, encoding: "utf8" });
    assert.equal(result.status, 0, `type errors:\n${result.stdout}${result.stderr}`);
  });
});
