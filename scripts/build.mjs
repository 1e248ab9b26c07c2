#!/usr/bin/env node
// `node scripts/build.mjs [--noCheck]`: builds the tree in the working directory. tsc compiles
// src/ to dist/ (JavaScript and the .d.ts files the package's types point at); esbuild then bundles
// dist/src's entry points into dist/bundle/ (what bin/diskpipe.mjs and the package's exports run),
// one file per entry point plus shared chunks, so that a command loads a few files instead of
// hundreds. The entry points share their chunks: the CLI, `diskpipe`, `diskpipe/plugin` and a
// user's plugins see one copy of each module (one DiskpipeError class, one registry).
// The tools come from this script's own installation, the sources from the working directory
// (Stryker runs it inside its sandbox).
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(import.meta.url);
const tree = process.cwd();
const check = !process.argv.includes("--noCheck");

const tsc = spawnSync(
  process.execPath,
  [require.resolve("typescript/bin/tsc"), "-p", "tsconfig.json", ...(check ? [] : ["--noCheck"])],
  { cwd: tree, stdio: "inherit" },
);
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

/** The package's entry points, as dist/src paths (the bundle keeps their layout under dist/bundle/). */
const ENTRY_POINTS = ["cli/main.js", "mod.js", "plugin-api.js", "plugin-testing.js", "plugins/index.js"];

const { build } = require("esbuild");
const outdir = join(tree, "dist", "bundle");
rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: tree,
  entryPoints: ENTRY_POINTS.map((entry) => join("dist", "src", entry)),
  outbase: join("dist", "src"),
  outdir,
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  keepNames: true,
  logLevel: "warning",
});
