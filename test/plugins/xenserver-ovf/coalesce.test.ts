import assert from "node:assert/strict";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { closeChain, openChain } from "../../../src/plugins/xenserver-ovf/chain.ts";
import { coalesceChain } from "../../../src/plugins/xenserver-ovf/coalesce.ts";
import { buildChain, listing, randomWrites, removeTempDirs, rng, tempDir, type ChainPlan } from "./helpers.ts";

const MiB = 1024 * 1024;

async function coalesceFiles(
  files: Buffer[],
  onProgress?: (done: number, total: number) => void,
): Promise<{ raw: Buffer; path: string }> {
  const dir = await tempDir();
  const paths = await Promise.all(
    files.map(async (bytes, index) => {
      const path = join(dir, `${index}.vhd`);
      await writeFile(path, bytes);
      return path;
    }),
  );
  const chain = await openChain(paths);
  const out = join(dir, "coalesced.raw");
  try {
    await coalesceChain(chain, out, { onProgress });
  } finally {
    await closeChain(chain);
  }
  return { raw: await readFile(out), path: out };
}

function firstDifference(a: Buffer, b: Buffer): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : Math.min(a.length, b.length);
}

describe("coalesceChain", () => {
  after(removeTempDirs);

  const cases: Array<[string, Omit<ChainPlan, "layers">, number, number]> = [
    ["dynamic base + 1 differencing layer", { size: 8 * MiB, base: "dynamic" }, 1, 1],
    ["fixed base + 2 layers, size not block-aligned", { size: 5 * MiB + 512 * 7, base: "fixed" }, 2, 2],
    [
      "dynamic base + 3 layers, 512 KiB blocks, garbage in unstored sectors",
      { size: 3 * MiB + 512, base: "dynamic", blockSize: 512 * 1024, filler: 0xee },
      3,
      3,
    ],
    [
      "dynamic base + 3 layers, blocks out of order",
      { size: 7 * MiB, base: "dynamic", descending: true, filler: 0x5a },
      3,
      4,
    ],
    ["a single dynamic disk", { size: 4 * MiB + 1024, base: "dynamic" }, 0, 5],
    ["a single fixed disk", { size: 2 * MiB - 512, base: "fixed" }, 0, 6],
  ];
  for (const [name, plan, layers, seed] of cases) {
    it(`flattens ${name} byte for byte`, async () => {
      const random = rng(seed);
      const writes = Array.from({ length: layers + 1 }, () => randomWrites(random, plan.size, 12));
      const { files, expected } = buildChain({ ...plan, layers: writes });
      const { raw } = await coalesceFiles(files);
      assert.equal(raw.length, plan.size);
      assert.equal(firstDifference(raw, expected), -1);
    });
  }

  it("lets the leaf-most member win sector by sector", async () => {
    const size = 2 * MiB;
    const sector = (byte: number, count = 1) => Buffer.alloc(512 * count, byte);
    const { files, expected } = buildChain({
      size,
      base: "dynamic",
      filler: 0xee,
      layers: [
        [{ offset: 0, data: sector(1, 8) }],
        [
          { offset: 512, data: sector(2, 2) },
          { offset: 4096, data: sector(2) },
        ],
        [
          { offset: 1024, data: sector(3, 2) },
          { offset: 3072, data: sector(0) },
        ],
      ],
    });
    const { raw } = await coalesceFiles(files);
    assert.deepEqual(
      [...raw.subarray(0, 4608)].filter((_, i) => i % 512 === 0),
      [1, 2, 3, 3, 1, 1, 0, 1, 2],
    );
    assert.ok(raw.equals(expected));
  });

  it("leaves holes where the disk is zero and reports progress", async () => {
    const size = 64 * MiB;
    const { files } = buildChain({
      size,
      base: "dynamic",
      layers: [[{ offset: 10 * MiB, data: Buffer.alloc(4096, 1) }], []],
    });
    const progress: Array<[number, number]> = [];
    const { raw, path } = await coalesceFiles(files, (done, total) => progress.push([done, total]));
    assert.equal(raw.length, size);
    assert.ok((await stat(path)).blocks * 512 < MiB, "the output should be sparse");
    assert.deepEqual(progress.at(-1), [size, size]);
  });

  it("removes its output when aborted", async () => {
    const dir = await tempDir();
    const { files } = buildChain({
      size: 8 * MiB,
      base: "dynamic",
      layers: [[{ offset: 0, data: Buffer.alloc(512, 1) }]],
    });
    await writeFile(join(dir, "0.vhd"), files[0]);
    const chain = await openChain([join(dir, "0.vhd")]);
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(coalesceChain(chain, join(dir, "out.raw"), { signal: controller.signal }), {
      name: "AbortError",
    });
    await closeChain(chain);
    assert.deepEqual(await listing(dir), ["0.vhd"]);
  });

  it("refuses to overwrite an existing output", async () => {
    const dir = await tempDir();
    const { files } = buildChain({ size: MiB, base: "fixed", layers: [[]] });
    await writeFile(join(dir, "0.vhd"), files[0]);
    await writeFile(join(dir, "out.raw"), "keep");
    const chain = await openChain([join(dir, "0.vhd")]);
    await assert.rejects(coalesceChain(chain, join(dir, "out.raw")), { code: "EEXIST" });
    await closeChain(chain);
    assert.equal(await readFile(join(dir, "out.raw"), "utf8"), "keep");
  });

  it("matches the layered model for random chains (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.integer(),
          sectors: fc.integer({ min: 1, max: 6 * 2048 }),
          base: fc.constantFrom("fixed" as const, "dynamic" as const),
          layers: fc.integer({ min: 0, max: 3 }),
          blockSize: fc.constantFrom(512 * 1024, 2 * MiB),
          filler: fc.constantFrom(0, 0xee),
        }),
        async ({ seed, sectors, base, layers, blockSize, filler }) => {
          const size = sectors * 512;
          const random = rng(seed);
          const writes = Array.from({ length: layers + 1 }, () => randomWrites(random, size, 6, 1500));
          const { files, expected } = buildChain({ size, base, blockSize, filler, layers: writes });
          const { raw } = await coalesceFiles(files);
          return raw.equals(expected);
        },
      ),
      { numRuns: 40 },
    );
  });
});
