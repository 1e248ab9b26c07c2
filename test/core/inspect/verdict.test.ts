import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Problem } from "../../../src/core/errors.ts";
import type { Detection } from "../../../src/core/inspect/types.ts";
import { headSettles, verdict, type Found } from "../../../src/core/inspect/verdict.ts";
import { standardClaim } from "../../helpers/inspect.ts";

/** A match by a detector named after its format, at position `order` of the run. */
function match(order: number, detection: Partial<Detection> & { format: string }, name = detection.format): Found {
  return { detector: { name, detect: async () => null }, detection: { problems: [], ...detection }, order };
}

const p = (code: string, message = code): Problem => ({ code, message });
const polyglot = (names: string) =>
  p("polyglot", `the image is valid as more than one format (${names}); qemu-img could read it either way`);

describe("verdict", () => {
  test("no match: a raw image as large as the file rounded up to whole sectors", () => {
    assert.deepEqual(verdict([], {}, 1_000_001), {
      format: "raw",
      virtualSize: 1_000_448,
      actualSize: 1_000_001,
      safe: true,
      problems: [],
      matches: [],
      details: {},
    });
    assert.equal(verdict([], {}, 0).virtualSize, 0);
    assert.equal(verdict([], {}, 512).virtualSize, 512);
  });

  test("a problem reported twice is listed once; problems that differ only in where a newline falls are both kept", () => {
    const found = [match(1, { format: "qcow2", problems: [p("a", "b"), p("a", "b"), p("x\ny", "z"), p("x", "y\nz")] })];
    assert.deepEqual(verdict(found, {}, 512).problems, [p("a", "b"), p("x\ny", "z"), p("x", "y\nz")]);
  });

  test("an unknown size (-1, a stream stopped early) is kept as the virtual size too", () => {
    const result = verdict([], {}, -1);
    assert.deepEqual([result.virtualSize, result.actualSize], [-1, -1]);
    assert.equal(verdict([], {}, -513).virtualSize, -513);
  });

  test("one format: its variant, size, problems and details", () => {
    const found = [
      match(3, {
        format: "qcow2",
        variant: "v3",
        virtualSize: 4096,
        problems: [p("qcow2-backing-file", "x")],
        details: { version: 3 },
      }),
    ];
    assert.deepEqual(verdict(found, {}, 999), {
      format: "qcow2",
      variant: "v3",
      virtualSize: 4096,
      actualSize: 999,
      safe: false,
      problems: [p("qcow2-backing-file", "x")],
      matches: ["qcow2"],
      details: { version: 3 },
    });
  });

  test("a format without a virtual size falls back to the file's", () => {
    assert.equal(verdict([match(0, { format: "bochs" })], {}, 1000).virtualSize, 1024);
    assert.equal("variant" in verdict([match(0, { format: "bochs" })], {}, 1000), false);
  });

  test("matches are ranked by run order, not by arrival; the first format names a polyglot", () => {
    const found = [
      match(10, { format: "iso", virtualSize: 2048, details: { iso: true } }),
      match(11, { format: "raw", variant: "mbr", problems: [p("partition-table")] }, "partition"),
      match(0, {
        format: "qcow2",
        variant: "v2",
        virtualSize: 4096,
        problems: [p("qcow2-data-file")],
        details: { version: 2 },
      }),
    ];
    const result = verdict(found, {}, 8192);
    assert.equal(result.format, "qcow2");
    assert.equal(result.variant, "v2");
    assert.equal(result.virtualSize, 4096);
    assert.deepEqual(result.matches, ["qcow2", "iso", "partition"]);
    assert.deepEqual(result.problems, [p("qcow2-data-file"), polyglot("qcow2 and iso")]);
    assert.deepEqual(result.details, { version: 2, partitionTable: "mbr", polyglot: ["qcow2", "iso"] });
    assert.equal(result.safe, false);
  });

  test("the problems of every format count, in run order", () => {
    const found = [match(5, { format: "b", problems: [p("two")] }), match(1, { format: "a", problems: [p("one")] })];
    assert.deepEqual(verdict(found, {}, 0).problems, [p("one"), p("two"), polyglot("a and b")]);
  });

  test("a partition table beside a format is only a detail; its problems are ignored", () => {
    const found = [
      match(2, { format: "raw", variant: "gpt", problems: [p("partition-table")] }, "partition"),
      match(1, { format: "iso", virtualSize: 4096 }),
    ];
    const result = verdict(found, {}, 4096);
    assert.deepEqual([result.format, result.safe, result.problems], ["iso", true, []]);
    assert.deepEqual(result.details, { partitionTable: "gpt" });
  });

  test("a partition table alone makes the image raw with its variant and problems (the first table only)", () => {
    const found = [
      match(9, { format: "raw", variant: "mbr", virtualSize: 1024, problems: [p("second")] }, "other"),
      match(
        4,
        {
          format: "raw",
          variant: "gpt",
          virtualSize: 2048,
          problems: [p("partition-table")],
          details: { partitions: 2 },
        },
        "partition",
      ),
    ];
    assert.deepEqual(verdict(found, {}, 2048), {
      format: "raw",
      variant: "gpt",
      virtualSize: 2048,
      actualSize: 2048,
      safe: false,
      problems: [p("partition-table")],
      matches: ["partition", "other"],
      details: { partitions: 2 },
    });
  });

  test("the size limit: equal passes, one byte more is too large; no limit, no check", () => {
    const found = [match(0, { format: "qcow2", virtualSize: 1 << 20 })];
    assert.deepEqual(verdict(found, { maxSize: 1 << 20 }, 0).problems, []);
    assert.deepEqual(verdict(found, { maxSize: (1 << 20) - 1 }, 0).problems, [
      p("too-large", `virtual size ${1 << 20} exceeds the limit of ${(1 << 20) - 1} bytes`),
    ]);
    assert.deepEqual(verdict([], { maxSize: 0 }, 1).problems, [
      p("too-large", "virtual size 512 exceeds the limit of 0 bytes"),
    ]);
    assert.deepEqual(verdict([], {}, 2 ** 50).problems, []);
  });

  test("the claim: checked against the primary format and variant, with accepts", () => {
    const found = [match(0, { format: "raw", variant: "gpt" }, "partition")];
    assert.deepEqual(verdict(found, { claimed: "raw" }, 512).problems, []);
    assert.deepEqual(verdict(found, standardClaim("iso"), 512).problems, []);
    assert.deepEqual(verdict(found, { claimed: "qcow2" }, 512).problems, [
      p("format-mismatch", "the image was claimed to be qcow2 but is raw (gpt)"),
    ]);
    assert.deepEqual(verdict(found, { claimed: "ami", accepts: ["raw:gpt"] }, 512).problems, []);
    assert.deepEqual(
      verdict(found, { claimed: "ami", accepts: ["raw:mbr"] }, 512).problems.map((x) => x.code),
      ["format-mismatch"],
    );
    assert.deepEqual(verdict([], { claimed: "raw" }, 512).problems, []);
  });

  test("problems with the same code and message are reported once; any difference keeps both", () => {
    const found = [
      match(0, { format: "a", problems: [p("x", "same"), p("x", "same"), p("x", "other"), p("y", "same")] }),
      match(1, { format: "b", problems: [p("x", "same")] }),
    ];
    assert.deepEqual(verdict(found, {}, 0).problems, [
      p("x", "same"),
      p("x", "other"),
      p("y", "same"),
      polyglot("a and b"),
    ]);
  });

  test("the input list is not reordered", () => {
    const found = [match(1, { format: "b" }), match(0, { format: "a" })];
    verdict(found, {}, 0);
    assert.deepEqual(
      found.map((f) => f.order),
      [1, 0],
    );
  });
});

describe("headSettles", () => {
  test("no format but raw: never settled, whatever a table's problems", () => {
    assert.equal(headSettles([], { claimed: "qcow2" }), false);
    assert.equal(
      headSettles([match(0, { format: "raw", variant: "gpt", problems: [p("partition-table")] }, "partition")], {
        claimed: "qcow2",
        maxSize: 0,
      }),
      false,
    );
  });

  test("a format with no problem and a claim that holds does not settle", () => {
    assert.equal(
      headSettles([match(0, { format: "qcow2", virtualSize: 4096 })], { claimed: "qcow2", maxSize: 4096 }),
      false,
    );
  });

  test("a format's own problem, a polyglot, a mismatched claim or the size limit settle", () => {
    assert.equal(headSettles([match(0, { format: "qcow2", problems: [p("qcow2-backing-file")] })], {}), true);
    assert.equal(headSettles([match(0, { format: "qcow2" }), match(1, { format: "iso" })], {}), true);
    assert.equal(headSettles([match(0, { format: "qcow2" })], { claimed: "raw" }), true);
    assert.equal(headSettles([match(0, { format: "qcow2", virtualSize: 4097 })], { maxSize: 4096 }), true);
  });

  test("a format without a size is judged as size 0, and a raw table beside it does not matter", () => {
    assert.equal(headSettles([match(0, { format: "bochs" })], { maxSize: 0 }), false);
    assert.equal(
      headSettles(
        [match(0, { format: "iso" }), match(1, { format: "raw", variant: "mbr", problems: [p("partition-table")] })],
        {},
      ),
      false,
    );
  });
});
