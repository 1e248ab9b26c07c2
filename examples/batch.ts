/**
 * Converts every image in IN_DIR into OUT_DIR, one output per input named <stem>.<ext>,
 * printing a line per file; exits non-zero if any failed.
 *
 *   diskpipe run examples/batch.ts IN_DIR OUT_DIR FORMAT
 *   deno run -A examples/batch.ts IN_DIR OUT_DIR FORMAT
 */
import { mkdir, readdir } from "node:fs/promises";
import { basename, join } from "node:path";
import process from "node:process";
import { batch, formatSize } from "diskpipe";

const [inDir, outDir, format] = process.argv.slice(2);
if (!inDir || !outDir || !format) {
  console.error("usage: batch.ts IN_DIR OUT_DIR FORMAT");
  process.exit(2);
}

const entries = await readdir(inDir, { withFileTypes: true });
const files = entries
  .filter((entry) => entry.isFile() && !entry.name.startsWith("."))
  .map((entry) => join(inDir, entry.name))
  .sort();
await mkdir(outDir, { recursive: true });

let failed = 0;
for await (const item of batch(files, { outDir, to: format })) {
  const name = basename(item.spec.source);
  if (item.error) {
    failed++;
    console.log(`FAIL ${name}: ${item.error.message} [${item.error.code}]`);
  } else {
    const { from, to, virtualSize, destination } = item.result;
    console.log(`ok   ${name} -> ${basename(destination)} (${from} -> ${to}, ${formatSize(virtualSize)})`);
  }
}
console.log(`${files.length - failed} converted, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
