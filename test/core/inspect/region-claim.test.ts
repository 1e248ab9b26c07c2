import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checkClaim } from "../../../src/core/inspect/claim.ts";
import { readAt, readChunks } from "../../../src/core/inspect/region.ts";
import { qemuLength } from "../../../src/core/inspect/sectors.ts";
import { MAX_READ } from "../../../src/core/io/reader.ts";
import { countingReader, memoryReader } from "./readers.ts";
import { checkStandardClaim } from "../../helpers/inspect.ts";

/** A 100-byte image whose byte i is i, wrapped to count its reads. */
function numbered() {
  return countingReader(memoryReader(100, [{ offset: 0, bytes: Uint8Array.from({ length: 100 }, (_, i) => i) }]));
}

describe("readAt", () => {
  test("reads what the reader has at the offset, flooring a fractional length", async () => {
    const { reader, stats } = numbered();
    assert.deepEqual(await readAt(reader, 0, 3), Uint8Array.of(0, 1, 2));
    assert.deepEqual(await readAt(reader, 97, 1.9), Uint8Array.of(97));
    assert.deepEqual(await readAt(reader, 98, 10), Uint8Array.of(98, 99));
    assert.deepEqual(stats.ranges, [
      [0, 3],
      [97, 1],
      [98, 10],
    ]);
  });

  test("caps a read at 1 MiB", async () => {
    const { reader, stats } = countingReader(memoryReader(4 * MAX_READ, []));
    assert.equal((await readAt(reader, 5, MAX_READ + 1)).length, MAX_READ);
    assert.equal((await readAt(reader, 5, MAX_READ)).length, MAX_READ);
    assert.deepEqual(stats.ranges, [
      [5, MAX_READ],
      [5, MAX_READ],
    ]);
  });

  test("an offset from an absurd header reads nothing", async () => {
    const { reader, stats } = numbered();
    for (const offset of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])
      assert.deepEqual(await readAt(reader, offset, 4), new Uint8Array(0), String(offset));
    assert.equal(stats.calls, 0);
    assert.deepEqual(await readAt(reader, 2 ** 53 - 1, 4), new Uint8Array(0));
    assert.equal(stats.calls, 1);
  });

  test("a length that is not positive reads nothing", async () => {
    const { reader, stats } = numbered();
    for (const length of [0, -1, Number.NaN])
      assert.deepEqual(await readAt(reader, 4, length), new Uint8Array(0), String(length));
    assert.equal(stats.calls, 0);
  });
});

describe("readChunks", () => {
  test("reads a range in pieces, the last one short, telling each piece's position", async () => {
    const { reader, stats } = numbered();
    const seen: [number[], number][] = [];
    const done = await readChunks(reader, 10, 10, 4, (chunk, position) => seen.push([[...chunk], position]));
    assert.equal(done, 10);
    assert.deepEqual(seen, [
      [[10, 11, 12, 13], 0],
      [[14, 15, 16, 17], 4],
      [[18, 19], 8],
    ]);
    assert.deepEqual(stats.ranges, [
      [10, 4],
      [14, 4],
      [18, 2],
    ]);
  });

  test("stops at the end of the image and says how much it read", async () => {
    const { reader, stats } = numbered();
    const positions: number[] = [];
    assert.equal(await readChunks(reader, 90, 30, 8, (_, position) => positions.push(position)), 10);
    assert.deepEqual(positions, [0, 8]);
    assert.deepEqual(stats.ranges, [
      [90, 8],
      [98, 8],
      [100, 8],
    ]);
  });

  test("an empty range reads nothing", async () => {
    const { reader, stats } = numbered();
    assert.equal(await readChunks(reader, 0, 0, 8, () => assert.fail("no chunk")), 0);
    assert.equal(stats.calls, 0);
  });
});

describe("checkClaim", () => {
  const claim = checkStandardClaim;

  test("claims are trimmed and compared without case, detected formats too", () => {
    assert.equal(checkClaim(" Raw\t", { format: "raw" }), null);
    assert.equal(checkClaim("qcow2", { format: "QCOW2" }), null);
    assert.equal(claim(" vPc ", { format: "vhd" }), null);
    assert.equal(checkClaim(" vPc ", { format: "vhd" })?.code, "format-mismatch", "the core alone knows no alias");
  });

  test("accepts entries are normalised the same way, and pin variants without case", () => {
    assert.equal(claim("ami", { format: "vhd", variant: "fixed" }, [" VPC "]), null);
    assert.equal(checkClaim("ami", { format: "raw", variant: "GPT" }, [" Raw:GPT "]), null);
    assert.equal(claim("ami", { format: "raw", variant: "GPT" }, [" Raw:GPT "]), null);
    assert.equal(checkClaim("ami", { format: "raw", variant: "gpt" }, ["raw:GPT"]), null);
    assert.equal(checkClaim("ami", { format: "raw" }, ["raw:gpt"])?.code, "format-mismatch");
    assert.equal(checkClaim("ami", { format: "raw" }, ["raw:"]), null);
    assert.equal(checkClaim("ami", { format: "raw", variant: "mbr" }, ["raw:"])?.code, "format-mismatch");
    assert.equal(checkClaim("raw", { format: "raw" }, [])?.code, "format-mismatch");
  });

  test("the iso rule (the iso plugin's accepts) pins the raw variants it accepts", () => {
    assert.equal(claim("iso", { format: "raw", variant: "apm" })?.code, "format-mismatch");
    assert.equal(claim("ISO", { format: "raw", variant: "GPT" }), null);
    assert.equal(
      checkClaim("ISO", { format: "raw", variant: "GPT" })?.code,
      "format-mismatch",
      "the core alone has no iso rule",
    );
  });

  test("the mismatch names the detected format and its variant, made printable", () => {
    assert.deepEqual(claim("vpc", { format: "QCOW2", variant: "v3" }), {
      code: "format-mismatch",
      message: "the image was claimed to be vhd but is qcow2 (v3)",
    });
    assert.equal(checkClaim("raw", { format: "vdi" })?.message, "the image was claimed to be raw but is vdi");
    assert.equal(
      checkClaim("raw", { format: "vdi", variant: "" })?.message,
      "the image was claimed to be raw but is vdi",
    );
    assert.equal(
      checkClaim("raw", { format: "vdi", variant: `a\n${"b".repeat(50)}` })?.message,
      `the image was claimed to be raw but is vdi (a?${"b".repeat(38)}…)`,
    );
  });
});

describe("qemuLength", () => {
  test("rounds up to whole 512-byte sectors", () => {
    assert.deepEqual([0, 1, 511, 512, 513, 1000001].map(qemuLength), [0, 512, 512, 512, 1024, 1000448]);
  });
});
