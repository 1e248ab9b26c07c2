import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { openFileReader } from "../../../src/plugin-api.ts";
import { memoryReader } from "../../../src/plugins/compressed/readers.ts";
import { tempDir } from "../../helpers/images.ts";

describe("compressed: readers over an open file and over bytes", () => {
  const { dir, cleanup } = tempDir("diskpipe-compressed-readers-");
  after(cleanup);

  it("openFileReader (the plugin API's, which the unpack uses on a whole file): the file's size, its bytes at an offset, short at the end", async () => {
    const path = join(dir, "bytes");
    writeFileSync(path, Buffer.from("0123456789"));
    const reader = await openFileReader(path);
    try {
      assert.equal(await reader.size(), 10);
      assert.equal(Buffer.from(await reader.read(2, 3)).toString(), "234");
      assert.equal(Buffer.from(await reader.read(8, 5)).toString(), "89");
    } finally {
      await reader.close();
    }
  });

  it("memoryReader: the same over bytes in memory", async () => {
    const reader = memoryReader(Buffer.from("abcdef"));
    assert.equal(await reader.size(), 6);
    assert.equal(Buffer.from(await reader.read(4, 10)).toString(), "ef");
  });
});
