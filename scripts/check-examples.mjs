#!/usr/bin/env node
// Type-checks the ```ts blocks of the `@example` JSDoc tags under src/, so they cannot drift
// from the code they show, and checks where examples are and are not:
// - an @example is kept on public things only: a module's own comment (`@module`), an exported
//   declaration, or a public member (not `private`, not `#name`) of an exported class,
//   interface or type; an example on anything else is reported;
// - every exported function and class, and every exported const that holds more than plain
//   data, of a module reachable (by any import, type imports and re-exports included) from
//   src/mod.ts, src/plugin-api.ts, src/plugin-kit.ts, src/plugin-testing.ts or a file
//   package.json's exports name has one. A const of plain data (`= 512`, `= ["a", "b"] as const`,
//   `= { cpuSeconds: 8 }`) needs none: its declaration already shows all an example could, and
//   an example's `// 512` is a comment the type check cannot hold to the value.
//
// Each example becomes one ES module in a fresh directory under .examples-check/ (git-ignored,
// removed afterwards unless --keep), all of them checked by one TypeScript program with the
// project's compiler options. An example module sees:
// - what the file the example is in sees at its top level, its exports and the names it imports,
//   then the public API (src/mod.ts, src/plugin-api.ts), all imported by a generated first line,
//   except the names the example itself imports or declares;
// - the conventional names declared once in scripts/example-givens.d.ts (`reader`, `ctx`,
//   `pipeline`, `plan`, ...); an example that needs anything else declares it in real code.
//   The project's lib includes DOM, whose window globals (`name`, `parent`, `open`, `close`,
//   `status`, ...) would quietly stand in for a name an example forgot to declare: a lower-case
//   global that only lib.dom declares is reported;
// - "diskpipe", "diskpipe/plugin", "diskpipe/testing" and "diskpipe/plugins" imports, read as
//   the source files package.json's exports name.
// The example sits at the top level of an ES module, so top-level `await` and `export default`
// (a configuration file's shape) both work.
//
// Usage: node scripts/check-examples.mjs [--keep] [--json]
// Prints one line per problem, `src/file.ts:LINE (@example of NAME): message`, and exits 1 if
// there is any. --json prints {problems, examples, ms} instead.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readdirSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import {
  exportsOf,
  ownerOf,
  docsOf,
  examplesIn,
  topLevelNames,
  domGlobals,
  reachable,
  exportedDeclarations,
  localExportsOf,
  importsOf,
  importLine,
} from "./check-examples-ast.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "src");
const givens = join(root, "scripts", "example-givens.d.ts");
const publicApi = ["mod.ts", "plugin-api.ts"].map((file) => join(src, file));
const entryPoints = ["mod.ts", "plugin-api.ts", "plugin-kit.ts", "plugin-testing.ts"].map((file) => join(src, file));

const posix = (path) => path.split(sep).join("/");
const fromRoot = (path) => posix(relative(root, path));

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

function compilerOptions() {
  const configPath = join(root, "tsconfig.json");
  const config = ts.readConfigFile(configPath, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root, undefined, configPath);
  return { ...parsed.options, noEmit: true, declaration: false };
}

/** "diskpipe/plugin" → the source file package.json's exports name for its types. */
function packageExports() {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const map = new Map();
  for (const [key, target] of Object.entries(pkg.exports ?? {})) {
    const types = typeof target === "string" ? target : target.types;
    const file = types.replace(/^\.\/dist\//, "").replace(/\.d\.ts$/, ".ts");
    map.set(key === "." ? pkg.name : `${pkg.name}/${key.slice(2)}`, join(root, file));
  }
  return map;
}

export function checkExamples({ keep = false } = {}) {
  const started = performance.now();
  const options = compilerOptions();
  const files = sources(src).sort();
  const host = ts.createCompilerHost(options);
  const first = ts.createProgram({ rootNames: files, options, host });
  const checker = first.getTypeChecker();
  const mark = (label) => process.env.EXAMPLES_TIMING && console.error(label, Math.round(performance.now() - started));
  mark("first program");
  const problems = [];
  const report = (file, line, name, message) => problems.push({ file: fromRoot(file), line, name, message });

  const specifiers = packageExports();
  const apiNames = new Map();
  for (const file of publicApi) {
    for (const [name, isValue] of exportsOf(checker, first.getSourceFile(file)))
      if (!apiNames.has(name)) apiNames.set(name, { isValue, file });
  }
  const covered = reachable(first, [...entryPoints, ...specifiers.values()]);

  const tmpParent = join(root, ".examples-check");
  mkdirSync(tmpParent, { recursive: true });
  const outDir = mkdtempSync(join(tmpParent, "run-"));
  const examples = [];
  for (const file of files) {
    const sourceFile = first.getSourceFile(file);
    const localExports = localExportsOf(sourceFile);
    const own = exportsOf(checker, sourceFile);
    const documented = new Set();
    for (const doc of docsOf(sourceFile)) {
      const blocks = examplesIn(sourceFile, doc);
      if (blocks.length === 0 && !doc.tags?.some((tag) => tag.tagName.text === "example")) continue;
      const owner = ownerOf(doc, localExports);
      documented.add(doc.parent);
      const docLine = sourceFile.getLineAndCharacterOfPosition(doc.getStart(sourceFile)).line + 1;
      if (!owner.isPublic)
        report(
          file,
          docLine,
          owner.name,
          "an @example on something that is not public (not exported, or a private member): remove it",
        );
      if (blocks.length === 0) report(file, docLine, owner.name, "an @example without a ```ts block");
      for (const block of blocks) {
        const code = block.code.join("\n");
        const skip = topLevelNames(code);
        const rewritten = code.replace(
          /(\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(["'])([^"']+)\2/gm,
          (match, before, quote, specifier) => {
            const target =
              specifiers.get(specifier) ?? (specifier.startsWith(".") ? resolve(dirname(file), specifier) : undefined);
            return target ? `${before}${JSON.stringify(posix(relative(outDir, target)))}` : match;
          },
        );
        const ownLine = importLine(own, posix(relative(outDir, file)), skip);
        const taken = new Set([...skip, ...own.keys()]);
        const importLines = importsOf(sourceFile, outDir).map(({ from, names }) => {
          const line = importLine(names, from, taken);
          for (const [name] of names) taken.add(name);
          return line;
        });
        const apiLines = publicApi.map((api) => {
          const names = [...apiNames]
            .filter(([name, entry]) => entry.file === api)
            .map(([name, entry]) => [name, entry.isValue]);
          return importLine(names, posix(relative(outDir, api)), taken);
        });
        const prelude = [ownLine, ...importLines, ...apiLines, "export {};"].join(" ");
        const path = join(outDir, `${fromRoot(file).replace(/[/.]/g, "_")}_${block.line}.ts`);
        writeFileSync(path, `${prelude}\n${rewritten}\n`);
        examples.push({ path, file, line: block.line, name: owner.name });
      }
    }
    if (!covered.has(file)) continue;
    for (const declaration of exportedDeclarations(sourceFile, localExports)) {
      const hasExample = ts.getJSDocTags(declaration.node).some((tag) => tag.tagName.text === "example");
      if (!hasExample)
        report(
          file,
          declaration.line,
          declaration.name,
          "an exported function, class or const (not plain data) of the public API's modules has no @example: add one",
        );
    }
  }

  mark("extracted");
  const second = ts.createProgram({
    rootNames: [...files, givens, ...examples.map((example) => example.path)],
    options,
    host,
    oldProgram: first,
  });
  const byPath = new Map(examples.map((example) => [example.path, example]));
  const message = (diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, " ");
  for (const diagnostic of second.getGlobalDiagnostics()) report(givens, 1, "(global)", message(diagnostic));
  const givensFile = second.getSourceFile(givens);
  for (const diagnostic of [
    ...second.getSyntacticDiagnostics(givensFile),
    ...second.getSemanticDiagnostics(givensFile),
  ]) {
    const line =
      diagnostic.start === undefined ? 1 : givensFile.getLineAndCharacterOfPosition(diagnostic.start).line + 1;
    report(givens, line, "(givens)", message(diagnostic));
  }
  for (const example of examples) {
    const sourceFile = second.getSourceFile(example.path);
    for (const diagnostic of [
      ...second.getSyntacticDiagnostics(sourceFile),
      ...second.getSemanticDiagnostics(sourceFile),
    ]) {
      const at = diagnostic.start === undefined ? 0 : sourceFile.getLineAndCharacterOfPosition(diagnostic.start).line;
      // Line 0 is the generated import line; an error there is reported on the block's first line.
      const entry = byPath.get(example.path);
      report(entry.file, entry.line + Math.max(at - 1, 0), entry.name, message(diagnostic));
    }
    const entry = byPath.get(example.path);
    for (const { name, at } of domGlobals(second.getTypeChecker(), sourceFile)) {
      report(
        entry.file,
        entry.line + Math.max(at - 1, 0),
        entry.name,
        `${name} is the DOM's window.${name} here: declare or import what the example means`,
      );
    }
  }
  mark("checked");
  if (!keep) rmSync(outDir, { recursive: true, force: true });
  problems.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
  return {
    problems,
    examples: examples.length,
    ms: Math.round(performance.now() - started),
    dir: keep ? fromRoot(outDir) : undefined,
  };
}

export const formatProblem = (problem) =>
  `${problem.file}:${problem.line} (@example of ${problem.name}): ${problem.message}`;

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = checkExamples({ keep: process.argv.includes("--keep") });
  if (process.argv.includes("--json")) console.log(JSON.stringify(result));
  else {
    for (const problem of result.problems) console.log(formatProblem(problem));
    console.log(
      `${result.examples} examples checked in ${result.ms} ms, ${result.problems.length} problem(s)${result.dir ? `; the generated files are in ${result.dir}` : ""}`,
    );
  }
  process.exitCode = result.problems.length > 0 ? 1 : 0;
}
