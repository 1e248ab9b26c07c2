// extractOne on hand-built GNU sparse members (type S): the map, its extension blocks, its bounds.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BLOCK, END, type Field, extract, header, padded, refused, sparseBlock } from "./tar-blocks.ts";

const A = "A".repeat(512);
const B = "B".repeat(512);
const C = "C".repeat(100);

/** A sparse member named s.raw storing `stored` (its runs back to back), with the map given, then the end. */
function sparse(
  stored: string,
  realSize: Field,
  runs: Array<[Field, Field]>,
  extension: Buffer[] = [],
  size: Field = stored.length,
): Buffer {
  const head = header({ name: "s.raw", type: "S", magic: "gnu", size, realSize, runs, extended: extension.length > 0 });
  return Buffer.concat([head, ...extension, padded(stored), END]);
}

describe("a GNU sparse member", () => {
  it("sends holes at the start, between runs and at the end with their lengths", async () => {
    const member = await extract(
      sparse(A + B, 4096, [
        [1024, 512],
        [2048, 512],
      ]),
    );
    assert.deepEqual(member, { name: "s.raw", size: 4096, layout: [1024, A, 512, B, 1536] });
    const full = await extract(
      sparse(A + B, 1024, [
        [0, 512],
        [512, 512],
      ]),
    );
    assert.deepEqual(full, { name: "s.raw", size: 1024, layout: [A + B] });
    const odd = await extract(sparse(C, 5000, [[0, 100]]));
    assert.deepEqual(odd, { name: "s.raw", size: 5000, layout: [C, 4900] });
  });

  it("reads an empty map entry as the end, but not one whose offset alone is empty (offset 0)", async () => {
    const emptyOffset = await extract(sparse(A, 1024, [[new Uint8Array(12), 512]]));
    assert.deepEqual(emptyOffset.layout, [A, 512]);
    const ended = await extract(
      sparse(A, 2048, [
        [1024, 512],
        [new Uint8Array(12), new Uint8Array(12)],
        [0, 1],
      ]),
    );
    assert.deepEqual(ended.layout, [1024, A, 512]);
    // An empty length with an offset is a run of no bytes.
    const emptyLength = await extract(
      sparse(A, 2048, [
        [0, 512],
        [1024, new Uint8Array(12)],
      ]),
    );
    assert.deepEqual(emptyLength.layout, [A, 512, 1024]);
  });

  it("reads a real size in base-256 exactly (2^33 + 5 bytes, nearly all hole)", async () => {
    const member = await extract(sparse(A, 2n ** 33n + 5n, [[0, 512]]));
    assert.deepEqual(member, { name: "s.raw", size: 2 ** 33 + 5, layout: [A, 2 ** 33 + 5 - 512] });
    const far = await extract(sparse(A, 2n ** 40n, [[2n ** 39n, 512n]]));
    assert.deepEqual(far.layout, [2 ** 39, A, 2 ** 39 - 512]);
  });

  it("refuses runs that overlap, go backwards or end past the real size", async () => {
    const message = "a sparse map with overlapping or out-of-range runs";
    await refused(
      sparse(A + B, 4096, [
        [1024, 512],
        [1280, 512],
      ]),
      "archive-entry",
      message,
    );
    await refused(
      sparse(A + B, 4096, [
        [2048, 512],
        [0, 512],
      ]),
      "archive-entry",
      message,
    );
    await refused(
      sparse(A + B, 1024, [
        [0, 512],
        [768, 512],
      ]),
      "archive-entry",
      message,
    );
    await refused(sparse(A + B, 1024, [[512, 1024]]), "archive-entry", message);
    // Ending exactly at the real size is fine.
    assert.deepEqual((await extract(sparse(A + B, 1536, [[512, 1024]]))).layout, [512, A + B]);
  });

  it("refuses a map that names more or less data than the member stores", async () => {
    const more = "a sparse map that names more data than the member stores";
    await refused(
      sparse(A, 4096, [
        [0, 512],
        [1024, 1],
      ]),
      "archive-entry",
      more,
    );
    await refused(sparse(A, 4096, [[0, 1024]], [], 512), "archive-entry", more);
    const less = "a sparse map that names less data than the member stores";
    await refused(sparse(A + B, 4096, [[0, 512]]), "archive-entry", less);
    await refused(sparse(A, 4096, []), "archive-entry", less);
  });

  it("continues the map in extension blocks (flag at 482, then at 504 of each block)", async () => {
    const runs = (from: number, count: number): Array<[number, number]> =>
      Array.from({ length: count }, (_, i) => [(from + i) * 1024, 512]);
    const stored = (count: number) => "D".repeat(count * 512);
    const head = header({
      name: "s.raw",
      type: "S",
      magic: "gnu",
      size: 26 * 512,
      realSize: 26 * 1024,
      runs: runs(0, 4),
      extended: true,
    });
    const blocks = [sparseBlock(runs(4, 21), true), sparseBlock(runs(25, 1), false)];
    const member = await extract(Buffer.concat([head, ...blocks, padded(stored(26)), END]));
    assert.equal(member.size, 26 * 1024);
    assert.deepEqual(member.layout, Array.from({ length: 26 }, () => ["D".repeat(512), 512]).flat());
    // The flag of the last block unset: the map stops there, and the stored data is read as such.
    const short = [sparseBlock(runs(4, 21), false)];
    await refused(
      Buffer.concat([head, ...short, padded(stored(26)), END]),
      "archive-entry",
      "a sparse map that names less data than the member stores",
    );
  });

  it("reads a map of 4096 extension blocks and refuses 4097", async () => {
    const chain = (count: number) => {
      const blocks = Buffer.alloc(count * BLOCK);
      for (let i = 0; i < count - 1; i++) blocks[i * BLOCK + 504] = 1;
      return [blocks];
    };
    const member = await extract(sparse(A, 1024, [[512, 512]], chain(4096)));
    assert.deepEqual(member.layout, [512, A]);
    await refused(sparse(A, 1024, [[512, 512]], chain(4097)), "archive-entry", "a sparse map of more than 4096 blocks");
  });

  it("refuses a sparse member cut short in its map, its data or its padding", async () => {
    const cut = "the tar archive is cut short";
    const head = header({ name: "s.raw", type: "S", magic: "gnu", size: 512, realSize: 1024, runs: [[0, 512]] });
    const extended = header({
      ...{ name: "s.raw", type: "S", magic: "gnu" },
      size: 512,
      realSize: 1024,
      extended: true,
    });
    await refused(extended, "truncated", cut);
    await refused(Buffer.concat([extended, sparseBlock([[0, 512]], false).subarray(0, 100)]), "truncated", cut);
    await refused(Buffer.concat([head, Buffer.from(A.slice(0, 300))]), "truncated", cut);
    await refused(sparse(C, 1024, [[0, 100]]).subarray(0, BLOCK + 200), "truncated", cut);
  });
});
