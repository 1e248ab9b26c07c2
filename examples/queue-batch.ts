/**
 * Submits every image in IN_DIR to the shared queue (outputs into OUT_DIR as <stem>.<ext>)
 * and waits for all of them, printing a line per result; exits non-zero if any failed.
 * Workers (`diskpipe worker`) on any machine do the conversions: IN_DIR and OUT_DIR must be
 * on storage they all mount, at the same path, and in their `queue.allow`.
 *
 *   DISKPIPE_QUEUE=redis://HOST:6379 diskpipe run examples/queue-batch.ts IN_DIR OUT_DIR FORMAT
 */
import { readdir } from "node:fs/promises";
import { basename, extname, join, resolve } from "node:path";
import process from "node:process";
import { createQueue, formatSize, isDiskpipeError } from "diskpipe";

const [inDir, outDir, format] = process.argv.slice(2);
const url = process.env.DISKPIPE_QUEUE;
if (!inDir || !outDir || !format || !url) {
  console.error("usage: DISKPIPE_QUEUE=redis://HOST:6379 queue-batch.ts IN_DIR OUT_DIR FORMAT");
  process.exit(2);
}

const entries = await readdir(inDir, { withFileTypes: true });
const files = entries
  .filter((entry) => entry.isFile() && !entry.name.startsWith("."))
  .map((entry) => resolve(inDir, entry.name))
  .sort();

const queue = await createQueue({ url });
let failed = 0;
try {
  const jobs = [];
  for (const source of files) {
    const stem = basename(source, extname(source));
    const { id } = await queue.submit({ source, destination: join(resolve(outDir), `${stem}.${format}`), to: format });
    jobs.push({ id, name: basename(source) });
  }
  await Promise.all(
    jobs.map(async ({ id, name }) => {
      try {
        const { from, to, virtualSize } = await queue.wait(id);
        console.log(`ok   ${name} (${from} -> ${to}, ${formatSize(virtualSize)}, job ${id})`);
      } catch (error) {
        failed++;
        console.log(`FAIL ${name}: ${isDiskpipeError(error) ? `${error.message} [${error.code}]` : String(error)}`);
      }
    }),
  );
} finally {
  await queue.close();
}
console.log(`${files.length - failed} converted, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
