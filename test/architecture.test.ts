import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(repoRoot, "src");

/** Every TypeScript file under `dir`, as absolute paths. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** The module specifiers a file imports or re-exports (static and dynamic), comments left out. */
function importsOf(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
  const found = [
    ...code.matchAll(/(?:^|[\s;])(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']/g),
    ...code.matchAll(/\bimport\s*\(\s*["']([^"']+)["']\s*\)/g),
  ];
  const bare = [...code.matchAll(/^\s*import\s*["']([^"']+)["']/gm)];
  return [...found, ...bare].map((match) => match[1] ?? "");
}

/** One import: the importing file and, for a relative specifier, the file it names (both relative to `src/`). */
interface Edge {
  file: string;
  specifier: string;
  /** Undefined for bare (`node:`, npm) specifiers. */
  to?: string;
}

const fromSrc = (path: string) => relative(src, path).split(sep).join("/");

/** Every import of every file under `src/<area>`. */
function edges(area: string): Edge[] {
  return sources(join(src, area)).flatMap((file) =>
    importsOf(readFileSync(file, "utf8")).map((specifier) => ({
      file: fromSrc(file),
      specifier,
      ...(specifier.startsWith(".") && { to: fromSrc(resolve(dirname(file), specifier)) }),
    })),
  );
}

describe("architecture: the dependency rules of src/", () => {
  it("the import scanner sees static, re-exported, dynamic and bare imports, and skips comments", () => {
    const text = [
      'import { a } from "./a.ts";',
      'import type {\n  B,\n} from "../b.ts";',
      'export { c } from "./c.ts";',
      'const d = await import("./d.ts");',
      'import "./e.ts";',
      '// import { f } from "./f.ts";',
      '/** import { g } from "./g.ts"; */',
    ].join("\n");
    assert.deepEqual(importsOf(text).sort(), ["../b.ts", "./a.ts", "./c.ts", "./d.ts", "./e.ts"]);
  });

  it("src/core imports nothing outside src/core (no plugins, CLI, spool or dashboard)", () => {
    const core = edges("core");
    const outward = core.filter(({ to }) => to !== undefined && !to.startsWith("core/"));
    assert.deepEqual(outward, []);
    assert.ok(core.length > 100, "the scanner found the core's imports");
  });

  it("a plugin imports only the plugin API, its own folder, node: built-ins and npm packages", () => {
    const folders = readdirSync(join(src, "plugins"), { withFileTypes: true }).filter((entry) => entry.isDirectory());
    assert.ok(folders.length >= 4, "the plugin folders were found");
    const foreign = folders.flatMap(({ name }) =>
      edges(join("plugins", name)).filter(
        ({ to }) => to !== undefined && to !== "plugin-api.ts" && !to.startsWith(`plugins/${name}/`),
      ),
    );
    assert.deepEqual(foreign, []);
  });

  it("only the qemu-img adapter starts processes (execa, node:child_process)", () => {
    const spawners = ["core", "plugins", "cli", "spool", "dashboard"]
      .flatMap((area) => edges(area))
      .filter(
        ({ specifier }) => specifier === "execa" || specifier === "node:child_process" || specifier === "child_process",
      )
      .map(({ file }) => file);
    assert.deepEqual([...new Set(spawners)], ["core/qemu-img-process.ts"]);
  });
});
