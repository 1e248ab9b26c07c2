import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { DiskpipeError } from "../../../src/core/errors.ts";
import { HttpStatusError, HttpTimeoutError } from "../../../src/core/io/http.ts";
import { tempDir } from "../../helpers/images.ts";
import { codeOf, run, serve, sha256 } from "./download-run.ts";
import { cut, reply, silence, stall, type Answer } from "./scripted-server.ts";

const TEN = "0123456789";
const chunked = { "transfer-encoding": "chunked" };

describe("download: first answers, statuses and retries", () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);

  it("writes and hashes a 200 with a length, declares the total, asks for no encoding", async () => {
    await serve([reply(200, { "content-length": 10 }, TEN)], async (server) => {
      const done = await run(server.url(), dir);
      assert.deepEqual(done.result, { hash: sha256(TEN), size: 10 });
      assert.equal(done.bytes.toString(), TEN);
      assert.equal(done.file.expected, 10);
      assert.equal(done.file.finished, true);
      assert.deepEqual(done.progress.at(-1), [10, 10]);
      assert.equal(server.asked.length, 1);
      assert.equal(server.asked[0]?.headers["accept-encoding"], "identity");
      assert.equal(server.asked[0]?.headers.range, undefined);
      assert.equal(server.asked[0]?.headers["if-range"], undefined);
      assert.deepEqual(done.notices, []);
    });
  });

  it("takes a 200 without a length as it comes: no total declared, the size is what arrived", async () => {
    await serve([reply(200, chunked, TEN)], async (server) => {
      const done = await run(server.url(), dir, { algorithm: "sha512" });
      assert.equal(done.result?.size, 10);
      assert.match(String(done.result?.hash), /^sha512:[0-9a-f]{128}$/);
      assert.equal(done.file.expected, undefined);
      assert.deepEqual(done.progress.at(-1), [10, undefined]);
    });
  });

  it("fails at once on a 404, without a retry, with the status", async () => {
    await serve([reply(404, {}), reply(200, { "content-length": 10 }, TEN)], async (server) => {
      const done = await run(server.url(), dir, { retries: 3 });
      assert.equal(codeOf(done.error), "fetch-failed");
      assert.ok(done.error instanceof DiskpipeError);
      assert.equal((done.error.cause as HttpStatusError).status, 404);
      assert.match(done.error.message, /^GET http:\/\/127\.0\.0\.1:\d+\/img answered HTTP 404 Not Found$/);
      assert.doesNotMatch(done.error.message, /attempts/);
      assert.equal(server.asked.length, 1);
    });
  });

  it("retries a 503 `retries` times, then fails saying how many attempts were made", async () => {
    await serve(
      [reply(503, {}), reply(503, {}), reply(503, {}), reply(200, { "content-length": 10 }, TEN)],
      async (server) => {
        const done = await run(server.url(), dir, { retries: 2 });
        assert.equal(codeOf(done.error), "fetch-failed");
        assert.match(String((done.error as Error).message), /answered HTTP 503 .*\(after 3 attempts\)$/);
        assert.equal(server.asked.length, 3);
        assert.equal(done.notices.length, 2);
        assert.match(String(done.notices[1]), /retry 2 of 2/);
      },
    );
  });

  it("succeeds on the last attempt allowed", async () => {
    await serve([reply(503, {}), reply(503, {}), reply(200, { "content-length": 10 }, TEN)], async (server) => {
      const done = await run(server.url(), dir, { retries: 2 });
      assert.deepEqual(done.result, { hash: sha256(TEN), size: 10 });
      assert.equal(server.asked.length, 3);
    });
  });

  it("pauses backoffMs before the first retry and twice as long before each next one", async () => {
    const asked: number[] = [];
    const timed =
      (answer: Answer): Answer =>
      (req, res) => {
        asked.push(performance.now());
        answer(req, res);
      };
    await serve(
      [
        timed(reply(503, {})),
        timed(reply(503, {})),
        timed(reply(503, {})),
        timed(reply(200, { "content-length": 10 }, TEN)),
      ],
      async (server) => {
        const done = await run(server.url(), dir, { retries: 3, backoffMs: 100 });
        assert.equal(done.result?.size, 10);
      },
    );
    const pauses = asked.slice(1).map((at, i) => at - (asked[i] ?? at));
    assert.equal(pauses.length, 3);
    for (const [i, least] of [100, 200, 400].entries())
      assert.ok((pauses[i] ?? 0) >= least, `pause ${i + 1}: ${pauses.map(Math.round).join(", ")} ms`);
    assert.ok(
      (pauses[2] ?? Infinity) < 1200,
      `the third pause is 400 ms, not more: ${pauses.map(Math.round).join(", ")} ms`,
    );
  });

  it("starts the count of failures again whenever an attempt brought bytes", async () => {
    const answers = [
      cut({ "content-length": 10, etag: '"e"' }, "01"),
      cut({ "content-length": 8, "content-range": "bytes 2-9/10" }, "23", 206),
      cut({ "content-length": 6, "content-range": "bytes 4-9/10" }, "45", 206),
      reply(206, { "content-length": 4, "content-range": "bytes 6-9/10" }, "6789"),
    ];
    await serve(answers, async (server) => {
      const done = await run(server.url(), dir, { retries: 1, onProgress: () => server.drop() });
      assert.deepEqual(done.result, { hash: sha256(TEN), size: 10 });
      assert.equal(server.asked.length, 4);
      assert.deepEqual(
        server.asked.map((a) => a.headers.range),
        [undefined, "bytes=2-", "bytes=4-", "bytes=6-"],
      );
    });
  });

  it("retries without anyone to tell", async () => {
    await serve([reply(503, {}), reply(200, { "content-length": 10 }, TEN)], async (server) => {
      const done = await run(server.url(), dir, { onNotice: undefined });
      assert.equal(done.result?.size, 10);
    });
  });

  it("gives up when an attempt without bytes follows a failure and no retry is left", async () => {
    await serve([cut({ "content-length": 10 }, "01"), reply(503, {}), reply(503, {})], async (server) => {
      const done = await run(server.url(), dir, { retries: 1, onProgress: () => server.drop() });
      assert.equal(codeOf(done.error), "fetch-failed");
      assert.match(String((done.error as Error).message), /\(after 2 attempts\)$/);
      assert.equal(server.asked.length, 2);
    });
  });

  it("refuses a 206 to a request that asked for no range", async () => {
    await serve([reply(206, { "content-length": 10, "content-range": "bytes 0-9/10" }, TEN)], async (server) => {
      const done = await run(server.url(), dir);
      assert.equal(((done.error as Error).cause as HttpStatusError).status, 206);
    });
  });

  it("names a refused connection once", async () => {
    const closed = await serve([], async (server) => server.url());
    const done = await run(closed, dir, { retries: 0 });
    assert.equal(codeOf(done.error), "fetch-failed");
    assert.match(String((done.error as Error).message), /failed: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
  });

  it("says where a network failure stopped, the bytes it brought kept on disk", async () => {
    await serve([cut({ "content-length": 10 }, "0123")], async (server) => {
      const done = await run(server.url(), dir, { retries: 0, onProgress: () => server.drop() });
      assert.equal(codeOf(done.error), "fetch-failed");
      assert.match(String((done.error as Error).message), /^GET http:\/\/127\.0\.0\.1:\d+\/img failed at byte 4: /);
      assert.equal(done.bytes.toString(), "0123");
    });
  });

  it("times out waiting for the headers, and mid-body, after the idle timeout", async () => {
    await serve([silence, stall({ "content-length": 10 }, "01")], async (server) => {
      const headers = await run(server.url(), dir, { retries: 0, timeoutMs: 100 });
      assert.equal(codeOf(headers.error), "fetch-failed");
      assert.ok((headers.error as Error).cause instanceof HttpTimeoutError);
      assert.match(String((headers.error as Error).message), /failed: no data for 100 ms \(ETIMEDOUT\)$/);
      const body = await run(server.url(), dir, { retries: 0, timeoutMs: 100 });
      assert.ok((body.error as Error).cause instanceof HttpTimeoutError);
    });
  });

  it("stops at the overall deadline, however patient the idle timeout", async () => {
    await serve([silence], async (server) => {
      const done = await run(server.url(), dir, { retries: 5, timeoutMs: 5000, deadlineMs: 30 });
      assert.equal(codeOf(done.error), "fetch-failed");
      assert.match(String((done.error as Error).message), /did not finish within 30 ms \(fetch\.deadlineMs\)/);
      assert.ok(
        server.asked.length <= 1,
        "no second attempt after the deadline (a loaded machine may not even send the first in 30 ms)",
      );
    });
  });

  it("says a deadline of whole seconds in seconds", async () => {
    await serve([silence], async (server) => {
      const done = await run(server.url(), dir, { retries: 0, timeoutMs: 5000, deadlineMs: 1000 });
      assert.match(String((done.error as Error).message), /did not finish within 1 s \(fetch\.deadlineMs\)/);
    });
  });

  it("stops at the deadline during the pause between attempts, with the deadline's error", async () => {
    await serve([reply(503, {}), reply(503, {})], async (server) => {
      const done = await run(server.url(), dir, { retries: 5, backoffMs: 60_000, deadlineMs: 30 });
      assert.equal(codeOf(done.error), "fetch-failed");
      assert.match(String((done.error as Error).message), /did not finish within 30 ms \(fetch\.deadlineMs\)/);
      assert.equal(server.asked.length, 1);
    });
  });

  it("throws the abort's reason when aborted during the pause between attempts", async () => {
    const controller = new AbortController();
    const reason = new Error("no longer needed");
    await serve([reply(503, {}), reply(503, {})], async (server) => {
      const done = await run(server.url(), dir, {
        retries: 5,
        backoffMs: 60_000,
        signal: controller.signal,
        onNotice: () => controller.abort(reason),
      });
      assert.equal(done.error, reason);
    });
  });

  it("finishes before a distant deadline, leaving no timer behind", async () => {
    await serve([reply(200, { "content-length": 10 }, TEN)], async (server) => {
      const done = await run(server.url(), dir, { deadlineMs: 600_000 });
      assert.equal(done.result?.size, 10);
    });
  });

  it("sends nothing when already aborted, and throws the abort's reason", async () => {
    await serve([reply(200, { "content-length": 10 }, TEN)], async (server) => {
      const reason = new Error("no longer needed");
      const done = await run(server.url(), dir, { signal: AbortSignal.abort(reason) });
      assert.equal(done.error, reason);
      assert.equal(server.asked.length, 0);
    });
  });

  it("throws the abort's reason when aborted mid-body, without a retry", async () => {
    const controller = new AbortController();
    const reason = new Error("stop");
    await serve([stall({ "content-length": 10 }, "01"), reply(200, { "content-length": 10 }, TEN)], async (server) => {
      const running = run(server.url(), dir, {
        retries: 3,
        signal: controller.signal,
        onProgress: () => controller.abort(reason),
      });
      const done = await running;
      assert.equal(done.error, reason);
      assert.equal(server.asked.length, 1);
    });
  });

  it("refuses a length the folder has no room for before reading the body", async () => {
    await serve([stall({ "content-length": 2 ** 52 }, "01")], async (server) => {
      const done = await run(server.url(), dir, { retries: 3 });
      assert.equal(codeOf(done.error), "no-space");
      assert.equal(done.bytes.length, 0);
      assert.equal(server.asked.length, 1);
    });
  });
});
