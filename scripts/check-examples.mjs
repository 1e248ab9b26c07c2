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

const hasModifier = (node, kind) => (ts.canHaveModifiers(node) ? (ts.getModifiers(node) ?? []).some((m) => m.kind === kind) : false);
const isExported = (node) => hasModifier(node, ts.SyntaxKind.ExportKeyword);
const nameOf = (node) => (node.name && (ts.isIdentifier(node.name) || ts.isPrivateIdentifier(node.name) || ts.isStringLiteral(node.name)) ? node.name.text : undefined);

/** The names a module exports, each with whether it is a value (else a type only). */
function exportsOf(checker, sourceFile) {
  const symbol = checker.getSymbolAtLocation(sourceFile);
  if (!symbol) return new Map();
  const names = new Map();
  for (const exported of checker.getExportsOfModule(symbol)) {
    if (exported.escapedName === "default") continue;
    const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    names.set(exported.name, (target.flags & ts.SymbolFlags.Value) !== 0);
  }
  return names;
}

/**
 * Who a JSDoc comment speaks for, and whether that is public: `{ name, isPublic }`.
 * `localExports` are the names a module exports with `export { name }`.
 */
function ownerOf(doc, localExports) {
  if (doc.tags?.some((tag) => tag.tagName.text === "module")) return { name: "@module", isPublic: true };
  const node = doc.parent;
  const exportedHere = (declaration) => isExported(declaration) || localExports.has(nameOf(declaration) ?? "");
  if (ts.isVariableStatement(node)) {
    const first = node.declarationList.declarations[0];
    const name = first && ts.isIdentifier(first.name) ? first.name.text : "(variable)";
    return { name, isPublic: isExported(node) || localExports.has(name) };
  }
  if (ts.isExportDeclaration(node)) {
    const names = node.exportClause && ts.isNamedExports(node.exportClause) ? node.exportClause.elements.map((element) => element.name.text) : ["*"];
    return { name: names.join(", "), isPublic: true };
  }
  if (ts.isSourceFile(node.parent) || ts.isModuleBlock(node.parent)) return { name: nameOf(node) ?? ts.SyntaxKind[node.kind], isPublic: exportedHere(node) };
  // A member: public when its container is an exported declaration and it is not private.
  const container = ts.isTypeLiteralNode(node.parent) && ts.isTypeAliasDeclaration(node.parent.parent) ? node.parent.parent : node.parent;
  const member = ts.isConstructorDeclaration(node) ? "constructor" : (nameOf(node) ?? ts.SyntaxKind[node.kind]);
  const owner = nameOf(container);
  const isPrivate = hasModifier(node, ts.SyntaxKind.PrivateKeyword) || (node.name !== undefined && ts.isPrivateIdentifier(node.name));
  const topLevel = ts.isSourceFile(container.parent);
  return { name: `${owner ?? "(anonymous)"}.${member}`, isPublic: topLevel && exportedHere(container) && !isPrivate };
}

/** Every JSDoc comment of a file, each once. */
function docsOf(sourceFile) {
  const docs = new Set();
  const visit = (node) => {
    for (const doc of ts.getJSDocCommentsAndTags(node)) if (ts.isJSDoc(doc)) docs.add(doc);
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return [...docs];
}

/** The ```ts blocks of a JSDoc comment's @example tags: `{ line, code }`, line 1-based in the file. */
function examplesIn(sourceFile, doc) {
  const start = doc.getStart(sourceFile);
  const firstLine = sourceFile.getLineAndCharacterOfPosition(start).line + 1;
  const lines = sourceFile.text.slice(start, doc.getEnd()).split("\n").map((line) => line.replace(/^\s*(\/\*\*|\*\/|\*)? ?/, ""));
  const blocks = [];
  let inExample = false;
  let block;
  lines.forEach((line, index) => {
    if (block) {
      if (/^\s*```\s*(\*\/)?$/.test(line)) {
        blocks.push(block);
        block = undefined;
      } else block.code.push(line);
      return;
    }
    if (/^@\w/.test(line)) inExample = line.startsWith("@example");
    if (inExample && /^\s*```(ts|typescript)\s*$/.test(line)) block = { line: firstLine + index + 1, code: [] };
  });
  return blocks;
}

/** The names an example imports or declares at its top level. */
function topLevelNames(code) {
  const file = ts.createSourceFile("example.ts", code, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const names = new Set();
  const bind = (name) => {
    if (ts.isIdentifier(name)) names.add(name.text);
    else for (const element of name.elements) if (!ts.isOmittedExpression(element)) bind(element.name);
  };
  for (const statement of file.statements) {
    if (ts.isImportDeclaration(statement) && statement.importClause) {
      const clause = statement.importClause;
      if (clause.name) names.add(clause.name.text);
      const bindings = clause.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) names.add(bindings.name.text);
      if (bindings && ts.isNamedImports(bindings)) for (const element of bindings.elements) names.add(element.name.text);
    } else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) bind(declaration.name);
    } else if (statement.name && ts.isIdentifier(statement.name)) names.add(statement.name.text);
  }
  return names;
}

/** Identifiers of an example that resolve to a lower-case global only lib.dom declares: `{ name, at }` (0-based line). */
function domGlobals(checker, sourceFile) {
  const found = [];
  const fromDom = (declaration) => /[\\/]lib\.dom\.d\.ts$/.test(declaration.getSourceFile().fileName);
  const visit = (node) => {
    if (ts.isIdentifier(node) && /^[a-z]/.test(node.text) && !(ts.isPropertyAccessExpression(node.parent) && node.parent.name === node)) {
      const declarations = checker.getSymbolAtLocation(node)?.declarations ?? [];
      const global = declarations.every((d) => (ts.isVariableDeclaration(d) || ts.isFunctionDeclaration(d)) && ts.isSourceFile(ts.isVariableDeclaration(d) ? d.parent.parent.parent : d.parent));
      if (declarations.length > 0 && global && declarations.every(fromDom)) found.push({ name: node.text, at: sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile)).line });
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
}

/** The source files reachable from `entries` by any import, export-from or import(). */
function reachable(program, entries) {
  const seen = new Set();
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    const sourceFile = program.getSourceFile(file);
    if (!sourceFile) continue;
    const visit = (node) => {
      let specifier;
      if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) specifier = node.moduleSpecifier;
      if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) specifier = node.arguments[0];
      if (specifier && ts.isStringLiteral(specifier) && specifier.text.startsWith(".")) queue.push(resolve(dirname(file), specifier.text));
      ts.forEachChild(node, visit);
    };
    visit(sourceFile);
  }
  return seen;
}

/** Whether an initializer is plain data: literals, names, arithmetic, arrays and objects of them, `as`/`satisfies`. */
function isPlainData(node) {
  if (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isSatisfiesExpression(node)) return isPlainData(node.expression);
  if (ts.isLiteralExpression(node) || ts.isIdentifier(node) || ts.isNoSubstitutionTemplateLiteral(node)) return true;
  if ([ts.SyntaxKind.TrueKeyword, ts.SyntaxKind.FalseKeyword, ts.SyntaxKind.NullKeyword].includes(node.kind)) return true;
  if (ts.isPrefixUnaryExpression(node)) return isPlainData(node.operand);
  if (ts.isBinaryExpression(node)) return isPlainData(node.left) && isPlainData(node.right);
  if (ts.isTemplateExpression(node)) return node.templateSpans.every((span) => isPlainData(span.expression));
  if (ts.isArrayLiteralExpression(node)) return node.elements.every(isPlainData);
  if (ts.isObjectLiteralExpression(node)) return node.properties.every((p) => ts.isPropertyAssignment(p) && isPlainData(p.initializer));
  return false;
}

/** The exported functions, classes and consts (but those of plain data) declared (not re-exported) in a file: `{ name, line, node }`. */
function exportedDeclarations(sourceFile, localExports) {
  const found = [];
  const line = (node) => sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile)).line + 1;
  for (const statement of sourceFile.statements) {
    const exported = (name) => isExported(statement) || localExports.has(name);
    if ((ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) && statement.name && exported(statement.name.text)) {
      if (ts.isFunctionDeclaration(statement) && !statement.body) continue; // an overload signature
      found.push({ name: statement.name.text, line: line(statement), node: statement });
    }
    if (ts.isVariableStatement(statement) && statement.declarationList.flags & ts.NodeFlags.Const) {
      for (const declaration of statement.declarationList.declarations) {
        if (declaration.initializer && isPlainData(declaration.initializer)) continue;
        if (ts.isIdentifier(declaration.name) && exported(declaration.name.text)) found.push({ name: declaration.name.text, line: line(statement), node: statement });
      }
    }
  }
  return found;
}

/** The names a file exports by `export { a, b }` (no `from`). */
function localExportsOf(sourceFile) {
  const names = new Set();
  for (const statement of sourceFile.statements) {
    if (ts.isExportDeclaration(statement) && !statement.moduleSpecifier && statement.exportClause && ts.isNamedExports(statement.exportClause)) {
      for (const element of statement.exportClause.elements) names.add((element.propertyName ?? element.name).text);
    }
  }
  return names;
}

/**
 * The file's own imports, rewritten for a module in `outDir`: `[{ from, names: [name, isValue][] }]`
 * (default and namespace imports are left out: examples name what they use).
 */
function importsOf(sourceFile, outDir) {
  const found = [];
  for (const statement of sourceFile.statements) {
    if (!ts.isImportDeclaration(statement) || !statement.importClause || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
    const clause = statement.importClause;
    const specifier = statement.moduleSpecifier.text;
    const from = specifier.startsWith(".") ? posix(relative(outDir, resolve(dirname(sourceFile.fileName), specifier))) : specifier;
    const names = [];
    if (clause.namedBindings && ts.isNamedImports(clause.namedBindings)) {
      for (const element of clause.namedBindings.elements) {
        const imported = element.propertyName ? `${element.propertyName.text} as ${element.name.text}` : element.name.text;
        names.push([element.name.text, !(clause.isTypeOnly || element.isTypeOnly), imported]);
      }
    }
    if (names.length > 0) found.push({ from, names });
  }
  return found;
}

function importLine(names, from, skip) {
  const parts = [...names].filter(([name]) => !skip.has(name)).map(([name, isValue, imported = name]) => (isValue ? imported : `type ${imported}`));
  return parts.length > 0 ? `import { ${parts.join(", ")} } from ${JSON.stringify(from)};` : "";
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
    for (const [name, isValue] of exportsOf(checker, first.getSourceFile(file))) if (!apiNames.has(name)) apiNames.set(name, { isValue, file });
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
      if (!owner.isPublic) report(file, docLine, owner.name, "an @example on something that is not public (not exported, or a private member): remove it");
      if (blocks.length === 0) report(file, docLine, owner.name, "an @example without a ```ts block");
      for (const block of blocks) {
        const code = block.code.join("\n");
        const skip = topLevelNames(code);
        const rewritten = code.replace(/(\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)(["'])([^"']+)\2/gm, (match, before, quote, specifier) => {
          const target = specifiers.get(specifier) ?? (specifier.startsWith(".") ? resolve(dirname(file), specifier) : undefined);
          return target ? `${before}${JSON.stringify(posix(relative(outDir, target)))}` : match;
        });
        const ownLine = importLine(own, posix(relative(outDir, file)), skip);
        const taken = new Set([...skip, ...own.keys()]);
        const importLines = importsOf(sourceFile, outDir).map(({ from, names }) => {
          const line = importLine(names, from, taken);
          for (const [name] of names) taken.add(name);
          return line;
        });
        const apiLines = publicApi.map((api) => {
          const names = [...apiNames].filter(([name, entry]) => entry.file === api).map(([name, entry]) => [name, entry.isValue]);
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
      if (!hasExample) report(file, declaration.line, declaration.name, "an exported function, class or const (not plain data) of the public API's modules has no @example: add one");
    }
  }

  mark("extracted");
  const second = ts.createProgram({ rootNames: [...files, givens, ...examples.map((example) => example.path)], options, host, oldProgram: first });
  const byPath = new Map(examples.map((example) => [example.path, example]));
  const message = (diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, " ");
  for (const diagnostic of second.getGlobalDiagnostics()) report(givens, 1, "(global)", message(diagnostic));
  const givensFile = second.getSourceFile(givens);
  for (const diagnostic of [...second.getSyntacticDiagnostics(givensFile), ...second.getSemanticDiagnostics(givensFile)]) {
    const line = diagnostic.start === undefined ? 1 : givensFile.getLineAndCharacterOfPosition(diagnostic.start).line + 1;
    report(givens, line, "(givens)", message(diagnostic));
  }
  for (const example of examples) {
    const sourceFile = second.getSourceFile(example.path);
    for (const diagnostic of [...second.getSyntacticDiagnostics(sourceFile), ...second.getSemanticDiagnostics(sourceFile)]) {
      const at = diagnostic.start === undefined ? 0 : sourceFile.getLineAndCharacterOfPosition(diagnostic.start).line;
      // Line 0 is the generated import line; an error there is reported on the block's first line.
      const entry = byPath.get(example.path);
      report(entry.file, entry.line + Math.max(at - 1, 0), entry.name, message(diagnostic));
    }
    const entry = byPath.get(example.path);
    for (const { name, at } of domGlobals(second.getTypeChecker(), sourceFile)) {
      report(entry.file, entry.line + Math.max(at - 1, 0), entry.name, `${name} is the DOM's window.${name} here: declare or import what the example means`);
    }
  }
  mark("checked");
  if (!keep) rmSync(outDir, { recursive: true, force: true });
  problems.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
  return { problems, examples: examples.length, ms: Math.round(performance.now() - started), dir: keep ? fromRoot(outDir) : undefined };
}

export const formatProblem = (problem) => `${problem.file}:${problem.line} (@example of ${problem.name}): ${problem.message}`;

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = checkExamples({ keep: process.argv.includes("--keep") });
  if (process.argv.includes("--json")) console.log(JSON.stringify(result));
  else {
    for (const problem of result.problems) console.log(formatProblem(problem));
    console.log(`${result.examples} examples checked in ${result.ms} ms, ${result.problems.length} problem(s)${result.dir ? `; the generated files are in ${result.dir}` : ""}`);
  }
  process.exitCode = result.problems.length > 0 ? 1 : 0;
}
