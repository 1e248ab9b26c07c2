import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ImageRejectedError } from "../src/core/errors.ts";
import { defineFormat, definePlugin } from "../src/core/plugin.ts";
import { createPipeline } from "../src/create-pipeline.ts";
import { qcow2, raw, standardFormats } from "../src/plugins/index.ts";
import { makeImage, makeRaw, sameDisk, tempDir } from "./helpers/images.ts";

const SIZE = 2 * 1024 * 1024;

describe("createPipeline: the standard formats, loaded as plugins", () => {
  const { dir, cleanup } = tempDir();
  const work = join(dir, "work");
  const out = join(dir, "out");
  const images: Record<string, string> = {};
  before(() => {
    mkdirSync(out);
    images.raw = makeRaw(join(dir, "disk.raw"), SIZE);
    for (const format of ["qcow2", "vmdk", "vdi", "vhdx"])
      images[format] = makeImage(images.raw, format, join(dir, `disk.${format}`));
    images.vhd = makeImage(images.raw, "vpc", join(dir, "disk.vhd"));
  });
  after(cleanup);

  it("loads every standard format by default, each a plugin of its own, ahead of the configuration's", () => {
    const pipeline = createPipeline({ workDir: work, plugins: [definePlugin({ name: "mine" })] });
    assert.deepEqual(pipeline.formats.names(), [
      "raw",
      "qcow2",
      "vmdk",
      "vdi",
      "vhd",
      "vhdx",
      "iso",
      "compressed",
      "ova",
      "ovf-descriptor",
    ]);
    assert.deepEqual(
      pipeline.plugins.map((p) => p.name),
      [...standardFormats().map((p) => p.name), "mine"],
    );
  });

  it("does not load a standard format twice when the configuration lists it, and lets a plugin of the same name replace it", async () => {
    assert.deepEqual(createPipeline({ workDir: work, plugins: [qcow2()] }).formats.names(), [
      "raw",
      "vmdk",
      "vdi",
      "vhd",
      "vhdx",
      "iso",
      "compressed",
      "ova",
      "ovf-descriptor",
      "qcow2",
    ]);
    const lax = definePlugin({
      name: "qcow2",
      formats: [
        defineFormat({
          name: "qcow2",
          qemuDriver: "qcow2",
          detect: async () => ({ format: "qcow2", variant: "mine", problems: [] }),
        }),
      ],
    });
    const replaced = await createPipeline({ workDir: work, plugins: [lax] }).inspect(images.qcow2);
    assert.equal(replaced.variant, "mine");
  });

  it("without the standard formats, every format qemu's probe knows is refused, never converted as raw", async () => {
    const pipeline = createPipeline({ workDir: work, standardFormats: false, plugins: [raw()] });
    assert.deepEqual(pipeline.formats.names(), ["raw"]);
    for (const format of ["qcow2", "vmdk", "vdi", "vhdx", "vhd"]) {
      const inspection = await pipeline.inspect(images[format] ?? "");
      assert.deepEqual(
        [inspection.format, inspection.safe, inspection.problems.map((p) => p.code)],
        [format, false, ["unsupported-format"]],
        format,
      );
      const destination = join(out, `${format}.raw`);
      await assert.rejects(pipeline.run({ source: images[format] ?? "", destination, to: "raw" }), (error: Error) => {
        assert.ok(error instanceof ImageRejectedError, String(error));
        assert.match(error.message, /not accepted: no loaded plugin converts this format/);
        return true;
      });
      assert.equal(existsSync(destination), false);
    }
    const converted = join(out, "raw.raw");
    await pipeline.run({ source: images.raw ?? "", destination: converted, to: "raw" });
    assert.ok(sameDisk(images.raw ?? "", "raw", converted, "raw"));
    assert.deepEqual(readdirSync(out), ["raw.raw"]);
  });

  it("without the raw format, nothing is converted as raw: a disk no detector recognizes is of an unknown format", async () => {
    const pipeline = createPipeline({ workDir: work, standardFormats: false });
    assert.deepEqual(pipeline.formats.names(), []);
    const destination = join(out, "none.qcow2");
    await assert.rejects(
      pipeline.run({ source: images.raw ?? "", destination, to: "qcow2" }),
      /unknown format "qcow2" \(known: \)/,
    );
    assert.equal(existsSync(destination), false);
    const qcow2Only = createPipeline({ workDir: work, standardFormats: false, plugins: [qcow2()] });
    await assert.rejects(qcow2Only.run({ source: images.raw ?? "", destination, to: "qcow2" }), {
      code: "usage",
      message: 'unknown format "raw" (known: qcow2)',
    });
    assert.equal(existsSync(destination), false);
  });
});
