/**
 * A third-party format handler written against diskpipe's public API only: "gzip-raw", a raw
 * disk compressed with gzip. It detects the gzip magic natively, unpacks the stream (bounded)
 * into the job's work directory, and a verify hook refuses disks that are not whole sectors.
 *
 *   diskpipe run examples/custom-format-plugin.ts disk.raw.gz out.qcow2 qcow2
 *   deno run -A examples/custom-format-plugin.ts disk.raw.gz out.qcow2 qcow2
 *
 * To use it from the CLI, put `gzipRaw()` in the `plugins` of your plugins.config.ts.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { convert, defaultConfig, defineFormat, definePlugin, ImageRejectedError, type Plugin } from "diskpipe";

/** Largest disk the handler will unpack. */
const MAX_UNPACKED = 64 * 1024 ** 3;

function limitBytes(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > max)
        done(
          new ImageRejectedError(`gzip-raw unpacks to more than ${max} bytes`, [
            { code: "too-large", message: "unpacked size over the bound" },
          ]),
        );
      else done(null, chunk);
    },
  });
}

/** The gzip-raw format plugin. */
export function gzipRaw(): Plugin {
  return definePlugin({
    name: "gzip-raw",
    formats: [
      defineFormat({
        name: "gzip-raw",
        async detect(reader) {
          const head = await reader.read(0, 3);
          const isGzip = head[0] === 0x1f && head[1] === 0x8b && head[2] === 0x08;
          return isGzip ? { format: "gzip-raw", problems: [], details: { compression: "deflate" } } : null;
        },
        async unpack(ctx) {
          const path = join(ctx.workDir, "unpacked.raw");
          await pipeline(
            createReadStream(ctx.image!.path),
            createGunzip(),
            limitBytes(MAX_UNPACKED),
            createWriteStream(path, { flags: "wx" }),
            { signal: ctx.signal },
          );
          return { path, format: "raw" };
        },
      }),
    ],
    hooks: {
      verify(ctx) {
        if (ctx.handler?.name === "gzip-raw" && ctx.inspection!.virtualSize % 512 !== 0) {
          throw new ImageRejectedError("a gzip-raw disk must hold whole 512-byte sectors", [
            { code: "partial-sector", message: "size is not a multiple of 512" },
          ]);
        }
      },
    },
  });
}

const [source, destination, to] = process.argv.slice(2);
if (source && destination && to) {
  const base = await defaultConfig();
  const result = await convert({
    source,
    destination,
    to,
    config: { ...base, plugins: [...(base.plugins ?? []), gzipRaw()] },
  }).catch((error) => {
    console.error(`${error.message} [${error.code}]`);
    process.exit(error.exitCode ?? 1);
  });
  console.log(`converted ${source} (${result.from} inside gzip) -> ${destination} (${to})`);
}
