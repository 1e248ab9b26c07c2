import {
  closeSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { dirStore } from "../../../src/core/io/dir-store.ts";
import { defineImageService, type ImageService } from "../../../src/core/io/image-service.ts";
import { createPipeline } from "../../../src/create-pipeline.ts";
import { definePlugin } from "../../../src/core/plugin.ts";
import { MiB } from "../../helpers/failure.ts";
import { makeImage, makeRaw, tempDir } from "../../helpers/images.ts";

/** A directory store under a fresh temporary directory, with two source images and helpers. */
export function dirStoreFixture() {
  const { dir, cleanup } = tempDir("diskpipe-dirstore-");
  const work = join(dir, "work");
  const root = join(dir, "store");
  const out = join(dir, "out");
  mkdirSync(out);
  mkdirSync(root);
  const raw = makeRaw(join(dir, "disk.raw"), 4 * MiB);
  const other = makeRaw(join(dir, "other.raw"), 4 * MiB, 7);
  const vmdk = makeImage(raw, "vmdk", join(dir, "disk.vmdk"));
  const store = dirStore(root);
  const pluginOf = (service: ImageService) =>
    definePlugin({ name: "images", ...defineImageService("images", service) });
  const pipeline = (service: ImageService = store) => createPipeline({ workDir: work, plugins: [pluginOf(service)] });

  /** Stores `id` through a real convert, then returns its image, its sidecar and the record. */
  async function stored(id: string) {
    await pipeline().run({ source: vmdk, destination: `store://images/${id}`, to: "qcow2" });
    const sidecar = join(root, `${id}.json`);
    return {
      image: join(root, id),
      sidecar,
      record: JSON.parse(readFileSync(sidecar, "utf8")) as Record<string, unknown>,
    };
  }

  /** Copies a stored image to `id` with a sidecar holding `record` (the attacker's say). */
  function plant(from: string, id: string, record: Record<string, unknown>) {
    copyFileSync(join(root, from), join(root, id));
    writeFileSync(join(root, `${id}.json`), JSON.stringify(record));
  }

  /** Temporary files left in the work directory or the store, and hidden files in `out`. */
  const leftovers = () => [
    ...(existsSync(join(work, "diskpipe")) ? readdirSync(join(work, "diskpipe")) : []),
    ...(existsSync(root) ? readdirSync(root).filter((n) => n.includes(".diskpipe-tmp-")) : []),
    ...readdirSync(out).filter((n) => n.startsWith(".")),
  ];

  return { dir, root, out, raw, other, vmdk, store, pipeline, stored, plant, leftovers, cleanup };
}

/** Settles `work` or rejects after `ms` milliseconds, so a hang fails the test instead of the run. */
export async function within<T>(ms: number, work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still running after ${ms} ms (hung)`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Lets a reader blocked opening the FIFO `path` go on (to end of file): opens and closes its
 * writing end without blocking. A test that timed out calls this so its stuck job ends too.
 */
export function releaseFifo(path: string): void {
  try {
    closeSync(openSync(path, constants.O_RDWR | constants.O_NONBLOCK));
  } catch {
    // Already gone.
  }
}
