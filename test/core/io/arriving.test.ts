import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { arrivingChunks } from "../../../src/core/io/arriving.ts";
import { GrowingFile } from "../../../src/core/io/growing-file.ts";
import { tempDir } from "../../helpers/images.ts";

describe("arrivingChunks", () => {
  it("gives what is in at once, waits for more, and ends with the file", async () => {
    const { dir, cleanup } = tempDir("diskpipe-arriving-");
    try {
      const file = await GrowingFile.create(join(dir, "image"));
      const chunks = arrivingChunks(file, 4);
      await file.append(Buffer.from("abcdef"));
      assert.equal(Buffer.from((await chunks.next()).value ?? []).toString(), "abcd");
      assert.equal(Buffer.from((await chunks.next()).value ?? []).toString(), "ef");
      // Nothing more is in: the next chunk is the next byte to arrive, not a full one.
      const next = chunks.next();
      await file.append(Buffer.from("g"));
      assert.equal(Buffer.from((await next).value ?? []).toString(), "g");
      const last = chunks.next();
      await file.finish();
      assert.deepEqual(await last, { done: true, value: undefined });
      await file.remove();
    } finally {
      cleanup();
    }
  });

  it("fails with the file's failure", async () => {
    const { dir, cleanup } = tempDir("diskpipe-arriving-");
    try {
      const file = await GrowingFile.create(join(dir, "image"));
      const chunks = arrivingChunks(file);
      const next = chunks.next();
      file.fail(new Error("the server went away"));
      await assert.rejects(next, /the server went away/);
      await file.remove();
    } finally {
      cleanup();
    }
  });
});
