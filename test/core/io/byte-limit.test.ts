import assert from "node:assert/strict";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, it } from "node:test";
import { byteLimit } from "../../../src/core/io/byte-limit.ts";

/** Feeds `chunks` through a byte limit of `limit` and gives the bytes that came out. */
async function through(chunks: Buffer[], limit: number): Promise<number> {
  let out = 0;
  await pipeline(
    Readable.from(chunks),
    byteLimit(limit, (bound) => new Error(`more than ${bound} bytes`)),
    new Writable({ write: (chunk: Buffer, _encoding, done) => ((out += chunk.length), done()) }),
  );
  return out;
}

describe("byteLimit", () => {
  it("passes exactly the limit and fails with the caller's error one byte past it", async () => {
    assert.equal(await through([Buffer.alloc(600), Buffer.alloc(424)], 1024), 1024);
    await assert.rejects(through([Buffer.alloc(600), Buffer.alloc(425)], 1024), { message: "more than 1024 bytes" });
  });
});
