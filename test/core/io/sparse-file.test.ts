import assert from "node:assert/strict";
import { readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { SparseFile } from "../../../src/plugin-api.ts";
import { qemuImg, tempDir } from "../../helpers/images.ts";

const KiB = 1024;

describe("SparseFile (the plugin kit's hole-leaving file)", () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);

  it("writes at chosen places, leaves 4 KiB pages of zeroes as holes, and sets the final length", async () => {
    const path = join(dir, "coalesced.raw");
    const file = await SparseFile.create(path);
    const chunk = Buffer.alloc(16 * KiB);
    chunk[9 * KiB] = 1;
    await file.write(512, chunk);
    await file.write(1024 * KiB, Buffer.from("tail"));
    await file.finish(2048 * KiB);
    const map = JSON.parse(qemuImg("map", "--output=json", "-f", "raw", path)) as {
      start: number;
      length: number;
      data: boolean;
    }[];
    assert.deepEqual(
      map.filter((e) => e.data).map((e) => [e.start, e.length]),
      [
        [8 * KiB, 4 * KiB],
        [1024 * KiB, 4 * KiB],
      ],
    );
    const back = readFileSync(path);
    assert.equal(back.length, 2048 * KiB);
    assert.equal(back[512 + 9 * KiB], 1);
    assert.equal(back.subarray(1024 * KiB, 1024 * KiB + 4).toString(), "tail");
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  it("is created exclusively and never through a symbolic link", async () => {
    const taken = join(dir, "taken.raw");
    writeFileSync(taken, "precious");
    await assert.rejects(SparseFile.create(taken), { code: "EEXIST" });
    const link = join(dir, "link.raw");
    symlinkSync(join(dir, "elsewhere.raw"), link);
    await assert.rejects(SparseFile.create(link), { code: "EEXIST" });
    assert.equal(readFileSync(taken, "utf8"), "precious");
  });

  it("closes without setting a length, twice without harm", async () => {
    const file = await SparseFile.create(join(dir, "closed.raw"));
    await file.write(0, Buffer.from("x"));
    await file.close();
    await file.close();
    assert.equal(statSync(join(dir, "closed.raw")).size, 1);
  });
});
