import { gzipSync } from "node:zlib";
import tar from "tar-stream";
import type { Header } from "tar-stream";

/** One tar entry for {@link tarball}. */
export interface TarEntry {
  header: Partial<Header> & Pick<Header, "name">;
  data?: Uint8Array;
}

/**
 * Packs entries into a tar (gzipped unless `gzip` is false), headers written as given.
 *
 * @example
 * ```ts
 * const tgz = await tarball([{ header: { name: "0.vhd" }, data: vhd }]);
 * ```
 */
export async function tarball(entries: readonly TarEntry[], gzip = true): Promise<Buffer> {
  const pack = tar.pack();
  const collected = (async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks);
  })();
  for (const { header, data } of entries) {
    await new Promise<void>((resolve, reject) => {
      const body = data ? Buffer.from(data.buffer, data.byteOffset, data.length) : undefined;
      const size = header.type === undefined || header.type === "file" ? (body?.length ?? 0) : 0;
      const done = (error?: Error | null) => (error ? reject(error) : resolve());
      if (body) pack.entry({ mode: 0o644, ...header, size }, body, done);
      else pack.entry({ mode: 0o644, ...header, size }, done);
    });
  }
  pack.finalize();
  const plain = await collected;
  return gzip ? gzipSync(plain) : plain;
}
