import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DiskpipeError, type ErrorCode } from "../../src/core/errors.ts";
import { failedReasonOf, failureOf, RETRIED_CODES } from "../../src/queue/failure.ts";
import { journalOf } from "../../src/queue/journal.ts";

const CODES: ErrorCode[] = [
  "image-rejected",
  "format-mismatch",
  "checksum-mismatch",
  "no-space",
  "qemu-img-missing",
  "qemu-img-failed",
  "fetch-failed",
  "upload-failed",
  "usage",
  "config-invalid",
  "plugin-failed",
  "io-failed",
  "aborted",
  "queue-unavailable",
  "verify-failed",
];
const read = (reason: string | undefined) => {
  const { code, message } = failureOf(reason);
  return { code, message };
};

describe("failedReasonOf and failureOf: a failure through the queue", () => {
  it("every code survives the round trip, with its message", () => {
    for (const code of CODES) {
      const reason = failedReasonOf(new DiskpipeError(code, "it broke"));
      assert.equal(reason, `it broke [${code}]`);
      assert.deepEqual(read(reason), { code, message: "it broke" });
    }
  });

  it("a plugin and its hook are named in the reason", () => {
    assert.equal(
      failedReasonOf(new DiskpipeError("plugin-failed", "boom", { plugin: "audit", hook: "verify" })),
      "boom (audit, verify) [plugin-failed]",
    );
    assert.equal(
      failedReasonOf(new DiskpipeError("plugin-failed", "boom", { plugin: "audit" })),
      "boom (audit) [plugin-failed]",
    );
    assert.equal(
      failedReasonOf(new DiskpipeError("plugin-failed", "boom", { hook: "verify" })),
      "boom [plugin-failed]",
    );
  });

  it("a reason whose code is not last, unknown or missing is io-failed, its whole text the message", () => {
    for (const reason of [
      "x [usage] then more",
      "x [usage]\n",
      "x[usage]",
      "[usage]",
      "x [no-such-code]",
      "x [constructor]",
      "x [__proto__]",
      "x [USAGE]",
      "",
    ])
      assert.deepEqual(read(reason), { code: "io-failed", message: reason.replace("\n", "\\n") }, reason);
    assert.deepEqual(read(undefined), { code: "io-failed", message: "the job failed without a reason" });
  });

  it("the last bracket is the code; the message may be empty, span lines (escaped) or hold brackets", () => {
    assert.deepEqual(read(" [usage]"), { code: "usage", message: "" });
    assert.deepEqual(read("a [b] [fetch-failed]"), { code: "fetch-failed", message: "a [b]" });
    assert.deepEqual(read("line 1\nline 2\u202e [no-space]"), { code: "no-space", message: "line 1\\nline 2\\u202e" });
    assert.deepEqual(read("GET https://u:pw@h/a [fetch-failed]"), { code: "fetch-failed", message: "GET https://h/a" });
  });

  it("a long reason without a code is the whole reason, cut to 4096 characters", () => {
    // Unanchored, this pattern backtracks once per character (seconds); the suite asserts results, not times.
    const hostile = `${"a ".repeat(50_000)}[x`;
    assert.deepEqual(read(hostile), { code: "io-failed", message: hostile.slice(0, 4096) });
  });

  it("transport and I/O failures are tried again; nothing else is", () => {
    const retried = CODES.filter((code) => RETRIED_CODES.includes(code));
    assert.deepEqual(retried, ["no-space", "fetch-failed", "upload-failed", "io-failed"]);
    assert.equal(RETRIED_CODES.length, 4);
  });
});

describe("journalOf: a job's log lines as its journal", () => {
  const entry = { at: "2026-12-03T00:00:00.000Z", worker: "w1", event: "start", attempt: 1 };
  const line = (fields: Record<string, unknown>) => JSON.stringify({ ...entry, ...fields });

  it("keeps only objects with a string event, worker and at", () => {
    const lines = [
      line({}),
      line({ event: 5 }),
      line({ event: undefined }),
      line({ worker: ["w1"] }),
      line({ worker: undefined }),
      line({ at: 0 }),
      line({ at: undefined }),
      "null",
      "5",
      '"start"',
      "[]",
      "true",
      "not json",
      `{"at":"t","worker":"w","event":"start"`,
      "",
      line({ event: "done", worker: "w2" }),
    ];
    assert.deepEqual(journalOf(lines), [entry, { ...entry, event: "done", worker: "w2" }]);
    assert.deepEqual(journalOf(["null", "x"]), []);
  });

  it("a hostile line (a __proto__ key, a huge worker) is an entry like any other, and pollutes nothing", () => {
    const [parsed] = journalOf([`{"at":"t","worker":"w","event":"start","__proto__":{"polluted":1}}`]);
    assert.equal(Object.getPrototypeOf(parsed), Object.prototype);
    assert.equal(({} as { polluted?: unknown }).polluted, undefined);
    assert.equal(journalOf([line({ worker: "w".repeat(16_000) })])[0]?.worker.length, 16_000);
  });
});
