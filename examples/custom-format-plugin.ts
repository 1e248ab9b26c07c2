/**
 * A third-party format handler written against diskpipe's public API only: "zlib-raw", a raw
 * disk compressed as a zlib stream (RFC 1950, `pigz -z`, `.zz`; gzip, xz, zstd and bzip2 are
 * built in: the `compressed` plugin). It detects the zlib header natively, unpacks the stream (bounded)
 * into the job's work directory, and a verify hook refuses disks that are not whole sectors.
 *
 *   diskpipe run examples/custom-format-plugin.ts disk.raw.zz out.qcow2 qcow2
 *   deno run -A examples/custom-format-plugin.ts disk.raw.zz out.qcow2 qcow2
 *
 * To use it from the CLI, put `zlibRaw()` in the `plugins` of your plugins.config.ts.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createInflate } from "node:zlib";
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
          new ImageRejectedError(`zlib-raw unpacks to more than ${max} bytes`, [
            { code: "too-large", message: "unpacked size over the bound" },
          ]),
        );
      else done(null, chunk);
    },
  });
}

/** The zlib-raw format plugin. */
export function zlibRaw(): Plugin {
  return definePlugin({
    name: "zlib-raw",
    formats: [
      defineFormat({
        name: "zlib-raw",
        async detect(reader) {
          // CMF: deflate with a window of at most 32 KiB; FLG: no preset dictionary, header check (CMF·256+FLG) divisible by 31.
          const head = await reader.read(0, 2);
          const isZlib =
            head.length === 2 && head[0] === 0x78 && (head[1] & 0x20) === 0 && ((head[0] << 8) | head[1]) % 31 === 0;
          return isZlib ? { format: "zlib-raw", problems: [], details: { compression: "deflate" } } : null;
        },
        async unpack(ctx) {
          const path = join(ctx.workDir, "unpacked.raw");
          await pipeline(
            createReadStream(ctx.image!.path),
            createInflate(),
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
        if (ctx.handler?.name === "zlib-raw" && ctx.inspection!.virtualSize % 512 !== 0) {
          throw new ImageRejectedError("a zlib-raw disk must hold whole 512-byte sectors", [
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
    config: { ...base, plugins: [...(base.plugins ?? []), zlibRaw()] },
  }).catch((error) => {
    console.error(`${error.message} [${error.code}]`);
    process.exit(error.exitCode ?? 1);
  });
  console.log(`converted ${source} (${result.from} inside zlib) -> ${destination} (${to})`);
}
