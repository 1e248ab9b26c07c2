import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { configSchema, resolveConfig } from "../../src/core/config.ts";
import { quickResolve } from "../../src/core/quick-config.ts";
import defaultConfig from "../../plugins.config.ts";

/** Functions replaced by a marker: the schema wraps plugin functions, the quick path keeps them. */
function normalize(value: unknown): unknown {
  if (typeof value === "function") return "[function]";
  if (Array.isArray(value)) return value.map(normalize);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]));
  return value;
}

/** Mostly `good`, sometimes one of the `bad` values: single faults in otherwise valid configs. */
const mostly = <T>(good: fc.Arbitrary<T>, ...bad: unknown[]) => fc.oneof({ weight: 6, arbitrary: good as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: fc.constantFrom(...bad) });
const fn = fc.constant(() => undefined);
const order = mostly(fc.constantFrom(undefined, "pre", "post"), "middle", 1);
const hook = mostly(fc.oneof(fn, fc.record({ handler: fn, order }, { requiredKeys: ["handler"] })), null, { handler: 1 }, { handler: () => 1, extra: 1 }, { order: "pre" });
const format = mostly(
  fc.record({ name: mostly(fc.constantFrom("raw", "my-fmt", "x9"), "Bad", "", "-x", 3), qemuDriver: mostly(fc.constantFrom(undefined, "raw", "vpc"), 7), extension: fc.string() }, { requiredKeys: ["name"] }),
  "not a format",
  null,
);
const plugin = mostly(
  fc.record(
    {
      name: mostly(fc.constantFrom("a", "luks"), "", 3),
      enforce: order,
      apply: mostly(fn, "yes"),
      hooks: mostly(fc.dictionary(fc.constantFrom("preFetch", "verify", "preConvert", "postConvert", "upload"), hook, { maxKeys: 3 }), [], { verfy: () => 1 }),
      formats: mostly(fc.array(format, { maxLength: 2 }), {}, "raw"),
      sources: fc.array(fc.constant({ name: "x" }), { maxLength: 1 }),
    },
    { requiredKeys: ["name"] },
  ),
  null,
  undefined,
  false,
  0,
  "p",
  [],
);
const config = mostly(
  fc.record(
    {
      plugins: mostly(fc.array(fc.oneof(plugin, fc.array(plugin, { maxLength: 2 })), { maxLength: 3 }), null, "x", {}),
      jobs: mostly(fc.integer({ min: 1, max: 64 }), 0, 65, -1, 2.5, Number.NaN, "2", undefined),
      workDir: mostly(fc.oneof(fc.string(), fc.constant(undefined)), 5, null),
    },
    { requiredKeys: [] },
  ),
  null,
  undefined,
  [],
  "config",
  3,
  { maxSize: "2T" },
  { plugins: [], fetch: { retries: 1 } },
);

describe("quickResolve (resolveConfig without zod)", () => {
  it("never accepts what the schema refuses, and returns what the schema returns", () => {
    fc.assert(
      fc.property(config, (input) => {
        const quick = quickResolve(input ?? {});
        if (!quick) return;
        const parsed = configSchema().safeParse(input ?? {});
        assert.ok(parsed.success, `quick path accepted what the schema refuses: ${JSON.stringify(normalize(input))}`);
        assert.deepEqual(normalize(quick), normalize(parsed.data));
      }),
      { numRuns: 5000 },
    );
  });

  it("takes diskpipe's own configuration and the usual small ones", () => {
    assert.ok(quickResolve(defaultConfig));
    assert.ok(quickResolve({}));
    assert.ok(quickResolve({ plugins: [[{ name: "a", hooks: { verify: () => {} } }], false], jobs: 4, workDir: "/var/tmp" }));
    assert.deepEqual(normalize(resolveConfig(defaultConfig)), normalize(configSchema().parse(defaultConfig)));
  });

  it("leaves everything else to the schema, which explains", () => {
    assert.equal(quickResolve({ jobs: 0 }), undefined);
    assert.equal(quickResolve({ maxSize: "2T" }), undefined);
    assert.throws(() => resolveConfig({ jobs: 0 }), /jobs: Too small/);
  });
});
