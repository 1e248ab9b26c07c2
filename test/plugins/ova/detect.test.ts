import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { openFileReader } from "../../../src/core/io/reader.ts";
import { detectCompressed } from "../../../src/plugins/compressed/detect.ts";
import { detectOva } from "../../../src/plugins/ova/detect.ts";
import { tempDir } from "../../helpers/images.ts";
import { writeTar } from "./archive.ts";

describe("detectOva: a tar whose first member is an OVF descriptor", () => {
  const { dir, cleanup } = tempDir("diskpipe-ova-detect-");
  after(cleanup);
  const detect = async (path: string) => {
    const reader = await openFileReader(path);
    try {
      return { ova: await detectOva(reader), compressed: await detectCompressed(reader) };
    } finally {
      await reader.close();
    }
  };
  const tarOf = (name: string) =>
    writeTar(join(dir, `${name.replace(/\W/g, "_")}.tar`), [{ name, data: Buffer.from("x") }]);

  it("is an OVA (and not a one-image tar) when the first member is *.ovf, whatever its case", async () => {
    for (const name of ["vm.ovf", "VM.OVF", "a.b.Ovf"]) {
      const found = await detect(await tarOf(name));
      assert.deepEqual(found.ova, { format: "ova", problems: [], details: { descriptor: name } }, name);
      assert.equal(found.compressed, null, name);
    }
  });

  it("is not when the first member is anything else, or the bytes are no tar", async () => {
    for (const name of ["disk.raw", "vm.ovf.bak", "vm.mf", "ovf"]) {
      const found = await detect(await tarOf(name));
      assert.equal(found.ova, null, name);
      assert.equal(found.compressed?.variant, "tar", name);
    }
    const notTar = join(dir, "plain");
    const block = Buffer.alloc(512);
    block.write("vm.ovf");
    writeFileSync(notTar, block);
    assert.equal((await detect(notTar)).ova, null, "a name without the ustar magic and checksum");
    writeFileSync(join(dir, "short"), "vm.ovf");
    assert.equal((await detect(join(dir, "short"))).ova, null, "fewer than 512 bytes");
  });
});
