import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createPipeline, defineFormat, definePlugin, type ImageRegion, type Plugin } from "../../../src/mod.ts";
import { failure } from "../../helpers/failure.ts";
import { sameDisk, tempDir } from "../../helpers/images.ts";

const MiB = 1024 * 1024;
const MAGIC = "REGIONS!";

/** A container: MAGIC, then raw disks of 1 MiB each, read where they lie; `where` may misname the file or the range. */
function rack(
  name: string,
  disks: number,
  where: (container: string, disk: number) => { path: string; region: ImageRegion } = (path, i) => ({
    path,
    region: { offset: MAGIC.length + i * MiB, length: MiB },
  }),
): Plugin {
  return definePlugin({
    name,
    formats: [
      defineFormat({
        name,
        detect: async (reader) =>
          Buffer.from(await reader.read(0, MAGIC.length)).toString("latin1") === MAGIC
            ? { format: name, problems: [], details: {} }
            : null,
        async unpack(ctx) {
          const container = ctx.image?.path ?? "";
          const parts = Array.from({ length: disks }, (_, i) => ({ ...where(container, i), format: "raw" }));
          if (disks === 1) return parts[0] ?? { path: "", format: "raw" };
          return { disks: parts, description: { suffix: "rack", render: () => ({}) } };
        },
      }),
    ],
  });
}

describe("an unpacked image that is a byte range of the container", () => {
  const { dir, cleanup } = tempDir("diskpipe-unpack-regions-");
  after(cleanup);
  const work = join(dir, "work");
  const disk = (i: number) => Buffer.alloc(MiB, 0x41 + i);
  const source = join(dir, "rack.bin");
  writeFileSync(source, Buffer.concat([Buffer.from(MAGIC), disk(0), disk(1), Buffer.from("trailer")]));
  const expected = (i: number) => {
    const path = join(dir, `expected-${i}.raw`);
    writeFileSync(path, disk(i));
    return path;
  };
  let outs = 0;
  const outDir = () => {
    const out = join(dir, `out-${++outs}`);
    mkdirSync(out);
    return out;
  };

  it("is inspected and converted as those bytes only (raw to raw through qemu-img, not the whole-file copy)", async () => {
    const out = outDir();
    const result = await createPipeline({ workDir: work, plugins: [rack("rack1", 1)] }).run({
      source,
      destination: join(out, "disk.raw"),
      to: "raw",
    });
    assert.equal(result.virtualSize, MiB, "the inspector saw the range, not the file");
    assert.ok(readFileSync(join(out, "disk.raw")).equals(disk(0)));
  });

  it("takes a range at the container's very start as a byte range (then inspects it: here, the container again)", async () => {
    // Offset 0 is a range like any other; these bytes begin with the container's own magic, so the inspector refuses them.
    const out = outDir();
    const head = (path: string) => ({ path, region: { offset: 0, length: MiB } });
    const error = await failure(
      createPipeline({ workDir: work, plugins: [rack("rack0", 1, head)] }).run({
        source,
        destination: join(out, "disk.raw"),
        to: "raw",
      }),
    );
    assert.equal(error.code, "format-mismatch", error.message);
    assert.deepEqual(readdirSync(out), []);
  });

  it("gives an appliance's disks from one file, each verified by its content hash (read through qemu-nbd)", async () => {
    const out = outDir();
    const result = await createPipeline({ workDir: work, plugins: [rack("rack2", 2)] }).run({
      source,
      destination: out,
      to: "qcow2",
      verify: true,
    });
    assert.equal(result.outputs?.length, 2);
    for (const i of [0, 1]) assert.ok(sameDisk(expected(i), "raw", join(out, `rack-disk${i + 1}.qcow2`), "qcow2"));
    assert.ok(result.outputs?.every((o) => o.contentHash?.startsWith("blk-sha256:")));
    assert.notEqual(result.outputs?.[0]?.contentHash, result.outputs?.[1]?.contentHash);
  });

  const host = join(dir, "host-file.raw");
  writeFileSync(host, Buffer.alloc(2 * MiB, 7));
  for (const [label, disks, where, why] of [
    [
      "a range of a host file",
      1,
      () => ({ path: host, region: { offset: 0, length: MiB } }),
      /is a byte range of a file other than the container/,
    ],
    [
      "a range of a host file as an appliance's second disk",
      2,
      (path: string, i: number) => ({ path: i === 1 ? host : path, region: { offset: MAGIC.length, length: MiB } }),
      /is a byte range of a file other than the container/,
    ],
    [
      "a negative offset",
      1,
      (path: string) => ({ path, region: { offset: -8, length: MiB } }),
      /names a byte range that is not one/,
    ],
    [
      "a length that is not a whole number",
      1,
      (path: string) => ({ path, region: { offset: 8, length: 0.5 } }),
      /names a byte range that is not one/,
    ],
  ] as const) {
    it(`refuses ${label}, converting nothing`, async () => {
      const out = outDir();
      const error = await failure(
        createPipeline({ workDir: work, plugins: [rack(`bad${outs}`, disks, where)] }).run({
          source,
          destination: disks === 1 ? join(out, "disk.qcow2") : out,
          to: "qcow2",
        }),
      );
      assert.equal(error.code, "plugin-failed", error.message);
      assert.match(error.message, why);
      assert.deepEqual(readdirSync(out), []);
    });
  }
});
