import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { resolveConfig } from "../../src/core/config.ts";
import { formatDuration, formatSize, parseSize } from "../../src/core/size.ts";

describe("resolveConfig", () => {
  it("fills defaults", () => {
    const config = resolveConfig({});
    assert.equal(config.jobs, 4);
    assert.equal(config.qemuImg.directIo, true);
    assert.deepEqual(config.plugins, []);
    assert.equal(config.fetch.retries, 5);
  });

  it("names each bad field", () => {
    assert.throws(
      () => resolveConfig({ jobs: 0, qemuImg: { coroutines: 40 }, maxSize: "ten gigs" }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, "config-invalid");
        assert.match(error.message, /jobs: /);
        assert.match(error.message, /qemuImg\.coroutines: /);
        assert.match(error.message, /maxSize: invalid size "ten gigs"/);
        return true;
      },
    );
  });

  it("queue retention (keepCompleted, keepFailed): a count of at least 1 and a positive number of days, nothing else", () => {
    const config = resolveConfig({ queue: { keepCompleted: { count: 10, days: 0.5 }, keepFailed: { days: 90 } } });
    assert.deepEqual([config.queue?.keepCompleted, config.queue?.keepFailed], [{ count: 10, days: 0.5 }, { days: 90 }]);
    for (const bad of [
      { keepCompleted: { count: 0 } },
      { keepFailed: { days: -1 } },
      { keepFailed: { days: 0 } },
      { keepCompleted: { count: 1.5 } },
      { keepCompleted: { age: 60 } },
      { keepFailed: 100 },
    ]) {
      assert.throws(
        () => resolveConfig({ queue: bad }),
        (error: Error & { code?: string }) =>
          error.code === "config-invalid" && /queue\.keep(Completed|Failed)/.test(error.message),
        JSON.stringify(bad),
      );
    }
  });

  it("rejects unknown keys, so typos are caught", () => {
    assert.throws(() => resolveConfig({ job: 2 }), /job/);
    assert.throws(() => resolveConfig({ plugins: [{ name: "p", hooks: { verfy: () => {} } }] }), /plugins\.0\.hooks/);
  });

  it("checks plugins and flattens presets", () => {
    assert.throws(() => resolveConfig({ plugins: [{ hooks: {} }] }), /plugins\.0\.name/);
    const config = resolveConfig({ plugins: [[{ name: "a" }, false], null, { name: "b" }] as never });
    assert.deepEqual(
      config.plugins.map((p) => p.name),
      ["a", "b"],
    );
  });

  it("checks the convert flags a plugin declares", () => {
    const flagged = (option: object) => resolveConfig({ plugins: [{ name: "p", convertOptions: [option] }] as never });
    assert.equal(
      flagged({ flags: "--answer <n>", description: "d", key: "answer", type: "number" }).plugins[0]
        ?.convertOptions?.[0]?.key,
      "answer",
    );
    assert.equal(
      flagged({ flags: "-a, --answer <n>", description: "d", key: "answer" }).plugins[0]?.convertOptions?.length,
      1,
    );
    assert.equal(flagged({ flags: "--dry", description: "d", key: "dry" }).plugins[0]?.convertOptions?.length, 1);
    assert.throws(
      () => flagged({ flags: "answer", description: "d", key: "answer" }),
      /plugins\.0\.convertOptions\.0\.flags: a flag is/,
    );
    assert.throws(
      () => flagged({ flags: "--answer <n> --to <x>", description: "d", key: "answer" }),
      /convertOptions\.0\.flags/,
    );
    assert.throws(() => flagged({ flags: "--answer <n>", description: "d", key: "" }), /convertOptions\.0\.key/);
    assert.throws(
      () => flagged({ flags: "--answer <n>", description: "d", key: "a", type: "bigint" }),
      /convertOptions\.0\.type/,
    );
    assert.throws(
      () => flagged({ flags: "--answer <n>", description: "d", key: "a", default: 1 }),
      /convertOptions\.0/,
    );
  });

  it("parses sizes", () => {
    assert.equal(resolveConfig({ maxSize: "2T" }).maxSize, 2 * 1024 ** 4);
  });
});

describe("parseSize / formatSize", () => {
  it("reads bytes and binary suffixes", () => {
    assert.equal(parseSize("512"), 512);
    assert.equal(parseSize("4k"), 4096);
    assert.equal(parseSize("1.5M"), 1.5 * 1024 ** 2);
    assert.equal(parseSize("10GiB"), 10 * 1024 ** 3);
    assert.equal(parseSize(7), 7);
    assert.throws(() => parseSize("-1"), { code: "usage" });
    assert.throws(() => parseSize("12Q"), { code: "usage" });
  });

  it("formats for people", () => {
    assert.equal(formatSize(1536), "1.5 KiB");
    assert.equal(formatSize(3 * 1024 ** 3), "3 GiB");
  });
});

describe("formatDuration", () => {
  it("says whole hours in hours, whole seconds in seconds, the rest in milliseconds", () => {
    assert.equal(formatDuration(7_200_000), "2 h");
    assert.equal(formatDuration(3_600_000), "1 h");
    assert.equal(formatDuration(5_400_000), "5400 s");
    assert.equal(formatDuration(90_000), "90 s");
    assert.equal(formatDuration(1500), "1500 ms");
    assert.equal(formatDuration(30), "30 ms");
  });
});
