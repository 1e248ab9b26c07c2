import { Transform, type TransformCallback } from "node:stream";

/**
 * A pass-through stream that fails with `refuse(limit)` as soon as more than `limit` bytes went
 * through it: the bound an archive reader puts on what it is fed.
 *
 * @example
 * ```ts
 * import { pipeline } from "node:stream/promises";
 * import { createReadStream } from "node:fs";
 * import { Writable } from "node:stream";
 * await pipeline(createReadStream("a.tar"), byteLimit(1 << 30, (limit) => new Error(`more than ${limit} bytes`)), new Writable({ write: (_c, _e, done) => done() }));
 * ```
 */
export function byteLimit(limit: number, refuse: (limit: number) => Error): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      total += chunk.length;
      if (total > limit) callback(refuse(limit));
      else callback(null, chunk);
    },
  });
}
