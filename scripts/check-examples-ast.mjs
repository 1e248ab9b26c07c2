// The TypeScript syntax-tree helpers of scripts/check-examples.mjs: where JSDoc examples are,
// what a module exports, imports and declares, and which modules the entry points reach.
import { dirname, relative, resolve, sep } from "node:path";
import ts from "typescript";

const posix = (path) => path.split(sep).join("/");

export const hasModifier = (node, kind) =>
  ts.canHaveModifiers(node) ? (ts.getModifiers(node) ?? []).some((m) => m.kind === kind) : false;
export const isExported = (node) => hasModifier(node, ts.SyntaxKind.ExportKeyword);
export const nameOf = (node) =>
  node.name && (ts.isIdentifier(node.name) || ts.isPrivateIdentifier(node.name) || ts.isStringLiteral(node.name))
    ? node.name.text
    : undefined;

/** The names a module exports, each with whether it is a value (else a type only). */
export function exportsOf(checker, sourceFile) {
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
export function ownerOf(doc, localExports) {
  if (doc.tags?.some((tag) => tag.tagName.text === "module")) return { name: "@module", isPublic: true };
  const node = doc.parent;
  const exportedHere = (declaration) => isExported(declaration) || localExports.has(nameOf(declaration) ?? "");
  if (ts.isVariableStatement(node)) {
    const first = node.declarationList.declarations[0];
    const name = first && ts.isIdentifier(first.name) ? first.name.text : "(variable)";
    return { name, isPublic: isExported(node) || localExports.has(name) };
  }
  if (ts.isExportDeclaration(node)) {
    const names =
      node.exportClause && ts.isNamedExports(node.exportClause)
        ? node.exportClause.elements.map((element) => element.name.text)
        : ["*"];
    return { name: names.join(", "), isPublic: true };
  }
  if (ts.isSourceFile(node.parent) || ts.isModuleBlock(node.parent))
    return { name: nameOf(node) ?? ts.SyntaxKind[node.kind], isPublic: exportedHere(node) };
  // A member: public when its container is an exported declaration and it is not private.
  const container =
    ts.isTypeLiteralNode(node.parent) && ts.isTypeAliasDeclaration(node.parent.parent)
      ? node.parent.parent
      : node.parent;
  const member = ts.isConstructorDeclaration(node) ? "constructor" : (nameOf(node) ?? ts.SyntaxKind[node.kind]);
  const owner = nameOf(container);
  const isPrivate =
    hasModifier(node, ts.SyntaxKind.PrivateKeyword) || (node.name !== undefined && ts.isPrivateIdentifier(node.name));
  const topLevel = ts.isSourceFile(container.parent);
  return { name: `${owner ?? "(anonymous)"}.${member}`, isPublic: topLevel && exportedHere(container) && !isPrivate };
}

/** Every JSDoc comment of a file, each once. */
export function docsOf(sourceFile) {
  const docs = new Set();
  const visit = (node) => {
    for (const doc of ts.getJSDocCommentsAndTags(node)) if (ts.isJSDoc(doc)) docs.add(doc);
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return [...docs];
}

/** The ```ts blocks of a JSDoc comment's @example tags: `{ line, code }`, line 1-based in the file. */
export function examplesIn(sourceFile, doc) {
  const start = doc.getStart(sourceFile);
  const firstLine = sourceFile.getLineAndCharacterOfPosition(start).line + 1;
  const lines = sourceFile.text
    .slice(start, doc.getEnd())
    .split("\n")
    .map((line) => line.replace(/^\s*(\/\*\*|\*\/|\*)? ?/, ""));
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
export function topLevelNames(code) {
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
      if (bindings && ts.isNamedImports(bindings))
        for (const element of bindings.elements) names.add(element.name.text);
    } else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) bind(declaration.name);
    } else if (statement.name && ts.isIdentifier(statement.name)) names.add(statement.name.text);
  }
  return names;
}

/** Identifiers of an example that resolve to a lower-case global only lib.dom declares: `{ name, at }` (0-based line). */
export function domGlobals(checker, sourceFile) {
  const found = [];
  const fromDom = (declaration) => /[\\/]lib\.dom\.d\.ts$/.test(declaration.getSourceFile().fileName);
  const visit = (node) => {
    if (
      ts.isIdentifier(node) &&
      /^[a-z]/.test(node.text) &&
      !(ts.isPropertyAccessExpression(node.parent) && node.parent.name === node)
    ) {
      const declarations = checker.getSymbolAtLocation(node)?.declarations ?? [];
      const global = declarations.every(
        (d) =>
          (ts.isVariableDeclaration(d) || ts.isFunctionDeclaration(d)) &&
          ts.isSourceFile(ts.isVariableDeclaration(d) ? d.parent.parent.parent : d.parent),
      );
      if (declarations.length > 0 && global && declarations.every(fromDom))
        found.push({ name: node.text, at: sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile)).line });
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
}

/** The source files reachable from `entries` by any import, export-from or import(). */
export function reachable(program, entries) {
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
      if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier)
        specifier = node.moduleSpecifier;
      if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword)
        specifier = node.arguments[0];
      if (specifier && ts.isStringLiteral(specifier) && specifier.text.startsWith("."))
        queue.push(resolve(dirname(file), specifier.text));
      ts.forEachChild(node, visit);
    };
    visit(sourceFile);
  }
  return seen;
}

/** Whether an initializer is plain data: literals, names, arithmetic, arrays and objects of them, `as`/`satisfies`. */
export function isPlainData(node) {
  if (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isSatisfiesExpression(node))
    return isPlainData(node.expression);
  if (ts.isLiteralExpression(node) || ts.isIdentifier(node) || ts.isNoSubstitutionTemplateLiteral(node)) return true;
  if ([ts.SyntaxKind.TrueKeyword, ts.SyntaxKind.FalseKeyword, ts.SyntaxKind.NullKeyword].includes(node.kind))
    return true;
  if (ts.isPrefixUnaryExpression(node)) return isPlainData(node.operand);
  if (ts.isBinaryExpression(node)) return isPlainData(node.left) && isPlainData(node.right);
  if (ts.isTemplateExpression(node)) return node.templateSpans.every((span) => isPlainData(span.expression));
  if (ts.isArrayLiteralExpression(node)) return node.elements.every(isPlainData);
  if (ts.isObjectLiteralExpression(node))
    return node.properties.every((p) => ts.isPropertyAssignment(p) && isPlainData(p.initializer));
  return false;
}

/** The exported functions, classes and consts (but those of plain data) declared (not re-exported) in a file: `{ name, line, node }`. */
export function exportedDeclarations(sourceFile, localExports) {
  const found = [];
  const line = (node) => sourceFile.getLineAndCharacterOfPosition(node.getStart(sourceFile)).line + 1;
  for (const statement of sourceFile.statements) {
    const exported = (name) => isExported(statement) || localExports.has(name);
    if (
      (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement)) &&
      statement.name &&
      exported(statement.name.text)
    ) {
      if (ts.isFunctionDeclaration(statement) && !statement.body) continue; // an overload signature
      found.push({ name: statement.name.text, line: line(statement), node: statement });
    }
    if (ts.isVariableStatement(statement) && statement.declarationList.flags & ts.NodeFlags.Const) {
      for (const declaration of statement.declarationList.declarations) {
        if (declaration.initializer && isPlainData(declaration.initializer)) continue;
        if (ts.isIdentifier(declaration.name) && exported(declaration.name.text))
          found.push({ name: declaration.name.text, line: line(statement), node: statement });
      }
    }
  }
  return found;
}

/** The names a file exports by `export { a, b }` (no `from`). */
export function localExportsOf(sourceFile) {
  const names = new Set();
  for (const statement of sourceFile.statements) {
    if (
      ts.isExportDeclaration(statement) &&
      !statement.moduleSpecifier &&
      statement.exportClause &&
      ts.isNamedExports(statement.exportClause)
    ) {
      for (const element of statement.exportClause.elements) names.add((element.propertyName ?? element.name).text);
    }
  }
  return names;
}

/**
 * The file's own imports, rewritten for a module in `outDir`: `[{ from, names: [name, isValue][] }]`
 * (default and namespace imports are left out: examples name what they use).
 */
export function importsOf(sourceFile, outDir) {
  const found = [];
  for (const statement of sourceFile.statements) {
    if (!ts.isImportDeclaration(statement) || !statement.importClause || !ts.isStringLiteral(statement.moduleSpecifier))
      continue;
    const clause = statement.importClause;
    const specifier = statement.moduleSpecifier.text;
    const from = specifier.startsWith(".")
      ? posix(relative(outDir, resolve(dirname(sourceFile.fileName), specifier)))
      : specifier;
    const names = [];
    if (clause.namedBindings && ts.isNamedImports(clause.namedBindings)) {
      for (const element of clause.namedBindings.elements) {
        const imported = element.propertyName
          ? `${element.propertyName.text} as ${element.name.text}`
          : element.name.text;
        names.push([element.name.text, !(clause.isTypeOnly || element.isTypeOnly), imported]);
      }
    }
    if (names.length > 0) found.push({ from, names });
  }
  return found;
}

export function importLine(names, from, skip) {
  const parts = [...names]
    .filter(([name]) => !skip.has(name))
    .map(([name, isValue, imported = name]) => (isValue ? imported : `type ${imported}`));
  return parts.length > 0 ? `import { ${parts.join(", ")} } from ${JSON.stringify(from)};` : "";
}
