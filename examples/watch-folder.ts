/**
 * The spool started from a script: files dropped in SPOOL/incoming/<format>/ are converted into
 * SPOOL/done/, and a hook writes a sha256 manifest beside each output (`<output>.sha256`, in the
 * format `sha256sum -c` reads). Runs until Ctrl-C, or for SECONDS when given.
 *
 *   diskpipe run examples/watch-folder.ts SPOOL [SECONDS]
 *   deno run -A examples/watch-folder.ts SPOOL [SECONDS]
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import process from "node:process";
import { createPipeline, defaultConfig, definePlugin, watchSpool, type Plugin, type Spool } from "diskpipe";

async function sha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Uint8Array);
  return hash.digest("hex");
}

/** Writes `<destination>.sha256` for every output, just before it is committed. */
export function sha256Manifest(): Plugin {
  return definePlugin({
    name: "sha256-manifest",
    hooks: {
      async upload(ctx) {
        const digest = await sha256(ctx.output!.path);
        await writeFile(`${ctx.spec.destination}.sha256`, `${digest}  ${basename(ctx.spec.destination)}\n`);
      },
    },
  });
}

const [root, seconds] = process.argv.slice(2);
if (!root) {
  console.error("usage: watch-folder.ts SPOOL [SECONDS]");
  process.exit(2);
}
for (const format of ["raw", "qcow2", "vmdk"]) await mkdir(join(root, "incoming", format), { recursive: true });

let timer: ReturnType<typeof setTimeout> | undefined;
let stopping: Promise<void> | undefined;
let spool: Spool | undefined;
const stop = () =>
  (stopping ??= (async () => {
    clearTimeout(timer);
    await spool?.stop();
    console.log("stopped");
  })());
// Signal handlers first, so a Ctrl-C during start-up still stops cleanly.
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

const base = await defaultConfig();
const pipeline = createPipeline({ ...base, plugins: [...(base.plugins ?? []), sha256Manifest()] });
spool = await watchSpool({
  root,
  pipeline,
  onEvent(event) {
    if (event.type === "done") console.log(`done   ${event.job.name} -> ${event.job.output}`);
    if (event.type === "failed")
      console.log(`failed ${event.job.name}: ${event.job.error?.message} [${event.job.error?.code}]`);
  },
});
if (stopping) {
  await spool.stop();
} else {
  console.log(`watching ${join(root, "incoming")} (Ctrl-C to stop)`);
  if (seconds) timer = setTimeout(stop, Number(seconds) * 1000);
}
