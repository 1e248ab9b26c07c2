import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { failureOf } from "../../src/queue/failure.ts";
import { viewOf } from "../../src/queue/job-view.ts";
import { boundedText, fromRedis } from "../../src/queue/redis-values.ts";

/** Text that costs the URL redaction one backtrack per character when escaped whole ("a-a-a-…"): 256 KiB. */
const SLOW = "a-".repeat(128 * 1024);

describe("boundedText: hostile text made safe to print in bounded time", () => {
  it("cuts to the bound after escaping: exactly max characters, escapes counted", () => {
    assert.equal(boundedText("x".repeat(4096)), "x".repeat(4096));
    assert.equal(boundedText("x".repeat(4097)), "x".repeat(4096));
    assert.equal(boundedText("a\nb".repeat(10_000), 8), "a\\nba\\nb");
    assert.equal(boundedText("\u202e".repeat(5), 13), "\\u202e\\u202e\\");
  });

  it("a URL the bound cuts is still redacted whole: its user and password never show", () => {
    const prefix = "x".repeat(4080);
    assert.equal(boundedText(`${prefix} https://user:secret@h/a`), `${prefix} https://h/a`);
    assert.equal(boundedText(`${prefix} https://h/a?X-Amz-Signature=abc`), `${prefix} https://h/a?X-A`);
    const long = `${"y".repeat(4090)} https://user:${"p".repeat(900)}@h/a`;
    assert.equal(boundedText(long), `${"y".repeat(4090)} https`);
  });

  // Escaped whole, SLOW took about a minute of CPU; only the bounded results are asserted here (no timing in tests).
  it("256 KiB of slow text: a reader's text, a result's warnings, a view's fields, a failure reason, each bounded", () => {
    const text = fromRedis.text(SLOW);
    assert.equal(text, SLOW.slice(0, 4096));
    const result = fromRedis.result({ outputSize: 1, ms: 1, warnings: [SLOW, SLOW] });
    assert.deepEqual(result?.warnings, [SLOW.slice(0, 4096), SLOW.slice(0, 4096)]);
    const job = {
      data: { spec: { source: SLOW, destination: `/${SLOW}`, to: SLOW } },
      progress: { worker: SLOW, stage: "convert", timings: [], hooks: [] },
      timestamp: 1,
      attemptsMade: 1,
      failedReason: `${SLOW} [usage]`,
    };
    const view = viewOf(job, "failed", []);
    assert.deepEqual(
      [view.source, view.destination, view.to, view.worker, view.error],
      [
        SLOW.slice(0, 4096),
        `/${SLOW.slice(0, 4095)}`,
        SLOW.slice(0, 4096),
        SLOW.slice(0, 256),
        { code: "usage", message: SLOW.slice(0, 4096) },
      ],
    );
    const failure = failureOf(SLOW);
    assert.deepEqual([failure.code, failure.message], ["io-failed", SLOW.slice(0, 4096)]);
  });
});
