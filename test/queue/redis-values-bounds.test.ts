import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fromRedis } from "../../src/queue/redis-values.ts";

const HASH = `blk-sha256:${"a1".repeat(32)}`;
const FULL = {
  jobId: "dp-1",
  source: "/in/a.vmdk",
  destination: "/out/a.qcow2",
  from: "vmdk",
  to: "qcow2",
  virtualSize: 1024,
  outputSize: 512,
  sourceHash: "sha256:ab",
  contentHash: HASH,
  verified: true,
  ms: 9,
  timings: [{ stage: "convert", ms: 5 }],
  warnings: ["w"],
};
/** What a result of nothing but its two required numbers reads as. */
const BARE = { jobId: "", source: "", destination: "", from: "", to: "", virtualSize: 0, outputSize: 0, ms: 0 };
const INSPECTION = {
  format: "vmdk",
  variant: "monolithicSparse",
  virtualSize: 1048576,
  actualSize: 65536,
  safe: false,
  problems: [{ code: "backing-file", message: "has a backing file" }],
  matches: ["vmdk"],
  details: { cid: 7 },
};

describe("fromRedis: the small readers", () => {
  it("number: finite numbers only (never NaN, ±Infinity, a numeric string or null)", () => {
    for (const yes of [0, 1.5, Number.MAX_VALUE]) assert.equal(fromRedis.number(yes), true, String(yes));
    for (const no of [Number.NaN, Infinity, -Infinity, "1", null, undefined, [1], { valueOf: () => 1 }])
      assert.equal(fromRedis.number(no), false, String(no));
  });

  it("text: strings only, control and bidi characters escaped, URLs redacted, cut to the bound after escaping", () => {
    assert.equal(fromRedis.text("plain"), "plain");
    assert.equal(fromRedis.text(5), undefined);
    assert.equal(fromRedis.text(["a"]), undefined);
    assert.equal(fromRedis.text("a\u202eb\u001b[2J\n\u0085"), "a\\u202eb\\x1b[2J\\n\\x85");
    assert.equal(fromRedis.text("GET https://u:pw@h/x"), "GET https://h/x");
    assert.equal(fromRedis.text("x".repeat(4096)), "x".repeat(4096));
    assert.equal(fromRedis.text("x".repeat(100_000))?.length, 4096);
    assert.equal(fromRedis.text("abcdef", 3), "abc");
    assert.equal(fromRedis.text("\u001b\u001b", 5), "\\x1b\\");
  });

  it("list: arrays only, cut to the bound; record: plain objects only", () => {
    assert.deepEqual(fromRedis.list("abc"), []);
    assert.deepEqual(fromRedis.list({ length: 3, 0: "a" }), []);
    assert.deepEqual(fromRedis.list([1, 2, 3], 2), [1, 2]);
    assert.equal(fromRedis.list(Array.from({ length: 1001 }, (_, i) => i)).length, 1000);
    for (const no of ["abc", 5, true, null, undefined, [1, 2]]) assert.deepEqual(fromRedis.record(no), {}, String(no));
    const object = { a: 1 };
    assert.equal(fromRedis.record(object), object);
  });

  it("iso: a finite number of ms within Date's range, else undefined (never a throw)", () => {
    assert.equal(fromRedis.iso(0), "1970-01-01T00:00:00.000Z");
    assert.equal(fromRedis.iso(8.64e15), "+275760-09-13T00:00:00.000Z");
    for (const no of [8.64e15 + 1, -8.64e15 - 1, "5", null, Number.NaN, Infinity, "2026-01-01"])
      assert.equal(fromRedis.iso(no), undefined, String(no));
  });

  it("timings and hooks: named entries with a finite ms only, names bounded and escaped", () => {
    assert.deepEqual(
      fromRedis.timings([{ stage: "fetch", ms: 1 }, { stage: "", ms: 1 }, { stage: "x", ms: "1" }, "x", null, 5]),
      [{ stage: "fetch", ms: 1 }],
    );
    assert.deepEqual(fromRedis.timings([{ stage: "s".repeat(41), ms: -0 }]), [{ stage: "s".repeat(40), ms: -0 }]);
    assert.deepEqual(fromRedis.timings({ stage: "fetch", ms: 1 }), []);
    assert.deepEqual(
      fromRedis.hooks([
        { hook: "h", plugin: "", ms: 1 },
        { hook: "", plugin: "p", ms: 1 },
        { hook: "h", plugin: "p", ms: Infinity },
        { hook: "h", plugin: 7, ms: 1 },
        { hook: "verify\u202e", plugin: "p", ms: 2 },
      ]),
      [{ hook: "verify\\u202e", plugin: "p", ms: 2 }],
    );
    const [long] = fromRedis.hooks([{ hook: "h".repeat(101), plugin: "p".repeat(201), ms: 0 }]);
    assert.deepEqual([long?.hook.length, long?.plugin.length], [100, 200]);
  });
});

describe("fromRedis.result: a job's result, or undefined", () => {
  it("a full result is kept as it is; one of just its two numbers gets empty texts and no optional fields", () => {
    assert.deepEqual(fromRedis.result(FULL), FULL);
    assert.deepEqual(fromRedis.result({ outputSize: 0, ms: 0 }), { ...BARE, timings: [], warnings: [] });
  });

  it("no result without finite outputSize and ms, or when it is not an object", () => {
    for (const bad of [Number.NaN, Infinity, -Infinity, "512", null, undefined]) {
      assert.equal(fromRedis.result({ ...FULL, outputSize: bad }), undefined, `outputSize ${String(bad)}`);
      assert.equal(fromRedis.result({ ...FULL, ms: bad }), undefined, `ms ${String(bad)}`);
    }
    for (const bad of ["done", 5, null, [FULL]]) assert.equal(fromRedis.result(bad), undefined);
  });

  it("numbers hidden under __proto__ do not make a result; prototype keys are not copied", () => {
    assert.equal(fromRedis.result(JSON.parse('{"__proto__":{"outputSize":1,"ms":1}}')), undefined);
    const read = fromRedis.result(JSON.parse('{"outputSize":1,"ms":1,"constructor":"x","__proto__":{"jobId":"p"}}'));
    assert.deepEqual(read, { ...BARE, outputSize: 1, ms: 1, timings: [], warnings: [] });
    assert.equal(Object.getPrototypeOf(read), Object.prototype);
  });

  it("a content hash is kept only as blk-sha256: and 64 lower-case hex digits, and verified only with one", () => {
    const { contentHash: _, verified: __, ...without } = FULL;
    for (const bad of [
      HASH.toUpperCase(),
      `blk-sha256:${"a".repeat(63)}`,
      `blk-sha256:${"a".repeat(65)}`,
      `x${HASH}`,
      `${HASH}\n`,
      `blk-sha256:${"g".repeat(64)}`,
      [HASH],
    ])
      assert.deepEqual(fromRedis.result({ ...FULL, contentHash: bad }), without, String(bad));
    assert.deepEqual(fromRedis.result({ ...FULL, verified: "true" }), { ...without, contentHash: HASH });
    assert.deepEqual(fromRedis.result({ ...FULL, verified: false }), { ...without, contentHash: HASH });
    const { sourceHash: ___, ...unhashed } = FULL;
    assert.deepEqual(fromRedis.result({ ...FULL, sourceHash: 5 }), unhashed);
    assert.deepEqual(fromRedis.result({ ...FULL, sourceHash: "" }), unhashed);
  });

  it("texts are bounded (ids 200, formats 40, locations and warnings 4096, 100 warnings) and made safe to print", () => {
    const read = fromRedis.result({
      ...FULL,
      jobId: "j".repeat(201),
      source: `https://u:pw@h/${"s".repeat(5000)}`,
      destination: "/out/\u202egpj.exe",
      from: "f".repeat(41),
      to: 7,
      virtualSize: "1 TiB",
      warnings: [...Array.from({ length: 150 }, () => "x".repeat(5000)), "late"],
      timings: Array.from({ length: 1001 }, () => ({ stage: "convert", ms: 1 })),
    });
    assert.equal(read?.jobId, "j".repeat(200));
    assert.equal(read?.source, `https://h/${"s".repeat(4096 - 10)}`);
    assert.equal(read?.destination, "/out/\\u202egpj.exe");
    assert.deepEqual([read?.from, read?.to, read?.virtualSize], ["f".repeat(40), "", 0]);
    assert.equal(read?.warnings.length, 100);
    assert.ok(read?.warnings.every((w) => w.length === 4096));
    assert.equal(read?.timings.length, 1000);
  });
});

describe("fromRedis.inspection: the inspector's report, or undefined", () => {
  it("a full report is kept as it is; without a variant there is no variant key", () => {
    assert.deepEqual(fromRedis.inspection(INSPECTION), INSPECTION);
    const { variant: _, ...plain } = INSPECTION;
    assert.deepEqual(fromRedis.inspection(plain), plain);
    assert.deepEqual(fromRedis.inspection({ ...INSPECTION, variant: "" }), plain);
    assert.deepEqual(fromRedis.inspection({ ...INSPECTION, variant: 5 }), plain);
  });

  it("no report without a format, two finite sizes and a boolean safe", () => {
    for (const bad of [
      { format: "" },
      { format: 5 },
      { virtualSize: "1" },
      { virtualSize: Infinity },
      { actualSize: Number.NaN },
      { actualSize: null },
      { safe: "true" },
      { safe: 1 },
    ])
      assert.equal(fromRedis.inspection({ ...INSPECTION, ...bad }), undefined, JSON.stringify(bad));
    for (const bad of ["vmdk", null, [INSPECTION]]) assert.equal(fromRedis.inspection(bad), undefined);
  });

  it("problems: a code and a message (possibly empty) each, 100 at most; matches: strings, 50 at most, 40 characters", () => {
    const read = fromRedis.inspection({
      ...INSPECTION,
      problems: [
        { code: "c", message: "" },
        { code: "", message: "m" },
        { code: "c" },
        { message: "m" },
        { code: "c", message: 5 },
        "c: m",
        { code: "k".repeat(101), message: "\u001b[31mred" },
      ],
      matches: ["vmdk", 5, null, "m".repeat(41)],
    });
    assert.deepEqual(read?.problems, [
      { code: "c", message: "" },
      { code: "k".repeat(100), message: "\\x1b[31mred" },
    ]);
    assert.deepEqual(read?.matches, ["vmdk", "m".repeat(40)]);
    const many = fromRedis.inspection({
      ...INSPECTION,
      problems: Array.from({ length: 101 }, () => ({ code: "c", message: "m" })),
      matches: Array.from({ length: 51 }, () => "vmdk"),
    });
    assert.deepEqual([many?.problems.length, many?.matches.length], [100, 50]);
    assert.deepEqual(fromRedis.inspection({ ...INSPECTION, problems: "c", matches: "vmdk" }), {
      ...INSPECTION,
      problems: [],
      matches: [],
    });
  });

  it("details are kept while their JSON is at most 16 KiB: exactly 16384 bytes kept, one more replaced by their size", () => {
    const at = { k: "d".repeat(16_384 - 8) };
    assert.equal(JSON.stringify(at).length, 16_384);
    assert.deepEqual(fromRedis.inspection({ ...INSPECTION, details: at })?.details, at);
    const over = { k: "d".repeat(16_384 - 7) };
    assert.deepEqual(fromRedis.inspection({ ...INSPECTION, details: over })?.details, {
      omitted: "16385 bytes of details",
    });
    assert.deepEqual(fromRedis.inspection({ ...INSPECTION, details: [1, 2] })?.details, {});
    assert.deepEqual(fromRedis.inspection({ ...INSPECTION, details: "x" })?.details, {});
  });

  it("details are a copy: a __proto__ key stays a plain key and pollutes nothing", () => {
    const details = fromRedis.inspection({
      ...INSPECTION,
      details: JSON.parse('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}'),
    })?.details;
    assert.ok(details && Object.hasOwn(details, "__proto__"));
    assert.equal(Object.getPrototypeOf(details), Object.prototype);
    assert.equal((details as { polluted?: unknown }).polluted, undefined);
    assert.equal(({} as { polluted?: unknown }).polluted, undefined);
  });
});
