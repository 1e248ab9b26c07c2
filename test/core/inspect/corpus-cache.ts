import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildCorpus, type CorpusImage } from "./corpus.ts";

/**
 * {@link buildCorpus}, kept between processes when `DISKPIPE_CORPUS_CACHE` names a directory
 * (mutation testing runs the inspector's tests once per mutant): the corpus is built once per
 * version of its builders, then read only. Without the variable it builds into `dir`.
 *
 * @example
 * ```ts
 * const corpus = await cachedCorpus(dir);
 * ```
 */
export async function cachedCorpus(dir: string): Promise<CorpusImage[]> {
  const cache = process.env.DISKPIPE_CORPUS_CACHE;
  if (!cache) return buildCorpus(dir);
  const here = dirname(fileURLToPath(import.meta.url));
  const source = ["corpus.ts", "corpus-tools.ts", "probe-cases.ts", "corpus-cache.ts"]
    .map((name) => readFileSync(join(here, name), "utf8"))
    .join("\n");
  const place = join(cache, createHash("sha256").update(source).digest("hex").slice(0, 16));
  const manifest = join(place, "manifest.json");
  if (existsSync(manifest)) return JSON.parse(readFileSync(manifest, "utf8")) as CorpusImage[];
  const building = `${place}.${process.pid}`;
  mkdirSync(building, { recursive: true });
  const built = JSON.stringify(await buildCorpus(building));
  // The manifest is in place before the folder is: a process that sees the folder finds it.
  writeFileSync(join(building, "manifest.json"), built.replaceAll(building, place));
  try {
    renameSync(building, place);
  } catch {
    rmSync(building, { recursive: true, force: true }); // another process finished first
  }
  return JSON.parse(readFileSync(manifest, "utf8")) as CorpusImage[];
}
