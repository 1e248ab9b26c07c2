import { rm } from "node:fs/promises";
import { join } from "node:path";
import { has, run } from "./exec.ts";

/** How the Cinder-like side fetches an HTTP image (curl, else wget, else a node one-liner). */
export type Downloader = "curl" | "wget" | "node";

/**
 * The downloader this machine has: curl, else wget, else node.
 *
 * @example
 * ```ts
 * const tool = await pickDownloader(); // "curl"
 * ```
 */
export async function pickDownloader(): Promise<Downloader> {
  if (await has("curl")) return "curl";
  if (await has("wget")) return "wget";
  return "node";
}

// The node fallback: a plain-JavaScript download (no tsx, so it starts as fast as node does).
const NODE_DOWNLOAD = `
const [url, path] = process.argv.slice(1);
const { get } = require("node:http");
const { createWriteStream } = require("node:fs");
get(url, (res) => {
  if (res.statusCode !== 200) { console.error("HTTP " + res.statusCode); process.exit(1); }
  const out = createWriteStream(path);
  res.pipe(out);
  out.on("finish", () => out.close());
}).on("error", (e) => { console.error(e.message); process.exit(1); });`;

/**
 * Downloads `url` to `path` with the chosen tool.
 *
 * @example
 * ```ts
 * await download("curl", "http://127.0.0.1:8080/a.qcow2", "/var/tmp/conv/tmp");
 * ```
 */
export async function download(tool: Downloader, url: string, path: string): Promise<void> {
  if (tool === "curl") await run("curl", ["-sS", "--fail", "-o", path, url]);
  else if (tool === "wget") await run("wget", ["-q", "-O", path, url]);
  else await run(process.execPath, ["-e", NODE_DOWNLOAD, url, path]);
}

let prlimit: Promise<boolean> | undefined;

/**
 * `qemu-img info --output=json PATH` as Cinder's image_utils.qemu_img_info runs it: under its
 * QEMU_IMG_LIMITS (1 GiB address space, 30 s CPU; here through util-linux prlimit).
 *
 * @example
 * ```ts
 * await cinderInfo("/var/tmp/conv/tmp");
 * ```
 */
export async function cinderInfo(path: string): Promise<void> {
  prlimit ??= has("prlimit");
  const argv = ["qemu-img", "info", "--output=json", path];
  if (await prlimit) await run("prlimit", ["--as=1073741824", "--cpu=30", "--", ...argv]);
  else await run(argv[0], argv.slice(1));
}

/** Where the Cinder-like sequence gets its image. */
export type CinderSource = { path: string } | { url: string; sha256: string; tool: Downloader };

/**
 * Cinder's image_utils sequence for one image: copy (or download) into the conversion
 * directory, [sha256sum it], `qemu-img info`, `qemu-img convert -O raw -f qcow2`, `qemu-img
 * info` of the result, remove the temporary copy.
 *
 * @example
 * ```ts
 * await cinderSequence({ path: "src.qcow2" }, "/var/tmp/conv", "/var/tmp/out/disk.raw");
 * ```
 */
export async function cinderSequence(source: CinderSource, conversionDir: string, destination: string): Promise<void> {
  const tmp = join(conversionDir, `image_fetch_${Math.random().toString(36).slice(2)}`);
  try {
    if ("path" in source) {
      await run("cp", [source.path, tmp]);
    } else {
      await download(source.tool, source.url, tmp);
      const sum = (await run("sha256sum", [tmp], { capture: true })).stdout.split(/\s/)[0];
      if (sum !== source.sha256) throw new Error(`checksum mismatch on ${source.url}`);
    }
    await cinderInfo(tmp);
    await run("qemu-img", ["convert", "-O", "raw", "-f", "qcow2", tmp, destination]);
    await cinderInfo(destination);
  } finally {
    await rm(tmp, { force: true });
  }
}
