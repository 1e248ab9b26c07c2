import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { after, describe, it } from "node:test";
import { join } from "node:path";
import { GrowingFile } from "../../../src/core/io/growing-file.ts";
import { download } from "../../../src/core/io/http-download.ts";
import { HttpTimeoutError } from "../../../src/core/io/http.ts";
import { tempDir } from "../../helpers/images.ts";
import { codeOf, run, serve, sha256 } from "./download-run.ts";
import { reply, stall, type Answer } from "./scripted-server.ts";

/** Whether a promise is still unsettled after a short while. */
async function pending(promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol("pending");
  const timer = new Promise((resolve) => setTimeout(() => resolve(marker), 40));
  return (await Promise.race([promise.catch(() => undefined), timer])) === marker;
}

/** An answer of `count` bytes "x", one every 10 ms, without a length. */
function trickle(count: number): Answer {
  return (_req, res) => {
    res.writeHead(200, { "transfer-encoding": "chunked" });
    let left = count;
    const timer = setInterval(() => {
      if (left-- > 0) res.write("x");
      else (clearInterval(timer), res.end());
    }, 10);
    res.on("close", () => clearInterval(timer));
  };
}

describe("download: the flow of bytes", () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);

  it("counts the idle timeout from the last chunk, not from the answer", async () => {
    await serve([trickle(30)], async (server) => {
      const done = await run(server.url(), dir, { retries: 0, timeoutMs: 150 });
      assert.deepEqual(done.result, { hash: sha256("x".repeat(30)), size: 30 });
    });
  });

  it("does not count the time it holds the stream back to its rate as idle", async () => {
    let answer: ServerResponse | undefined;
    const held: Answer = (_req, res) => {
      answer = res;
      res.writeHead(200, { "content-length": 301 }).write("y".repeat(300));
    };
    await serve([held], async (server) => {
      // 300 bytes at 1000 B/s are held back for 200 ms, twice the idle timeout; the last byte comes after.
      const done = await run(server.url(), dir, {
        retries: 0,
        timeoutMs: 100,
        bytesPerSecond: 1000,
        onProgress: () => answer?.end("z"),
      });
      assert.deepEqual(done.result, { hash: sha256(`${"y".repeat(300)}z`), size: 301 });
    });
  });

  it("counts idle time again once the rate lets a chunk through", async () => {
    await serve([stall({ "content-length": 10 }, "01")], async (server) => {
      const done = await run(server.url(), dir, { retries: 0, timeoutMs: 30, bytesPerSecond: 1_000_000 });
      assert.equal(codeOf(done.error), "fetch-failed");
      assert.ok((done.error as Error).cause instanceof HttpTimeoutError);
    });
  });

  it("lets go of the connection of an answer it refuses", async () => {
    let answer: ServerResponse | undefined;
    const held: Answer = (req, res) => {
      answer = res;
      stall({ "content-length": 2 ** 52 }, "01")(req, res);
    };
    await serve([held], async (server) => {
      const done = await run(server.url(), dir);
      assert.equal(codeOf(done.error), "no-space");
      const closed = new Promise((resolve) =>
        answer?.destroyed ? resolve(undefined) : answer?.once("close", resolve),
      );
      assert.equal(await pending(closed), false);
    });
  });

  it("fails with the file's own error when a bound set on it is passed, not as a full disk", async () => {
    await serve([reply(200, { "content-length": 10 }, "0123456789")], async (server) => {
      const file = await GrowingFile.create(join(dir, "bounded"));
      const bound = new Error("past the bound");
      file.limit(12, () => bound);
      const options = {
        timeoutMs: 2000,
        retries: 0,
        backoffMs: 1,
        algorithm: "sha256" as const,
        signal: new AbortController().signal,
      };
      await download(server.url(), file, options);
      const other = await GrowingFile.create(join(dir, "bounded-2"));
      other.limit(3, () => bound);
      await serve([reply(200, { "transfer-encoding": "chunked" }, "0123456789")], async (second) => {
        await assert.rejects(
          download(second.url(), other, options),
          (error: Error) => codeOf(error) === "fetch-failed" && error.cause === bound,
        );
      });
      await Promise.all([file.remove(), other.remove()]);
    });
  });

  it("counts every chunk of a resume against the announced total", async () => {
    let answer: ServerResponse | undefined;
    const rest: Answer = (_req, res) => {
      answer = res;
      res.writeHead(206, { "content-length": 7, "content-range": "bytes 4-9/10" }).write("456789");
    };
    const first: Answer = (_req, res) => void res.writeHead(200, { "content-length": 10 }).write("0123");
    await serve([first, rest], async (server) => {
      // The first answer is dropped once its bytes are in; the extra byte of the second comes as a chunk of its own.
      const done = await run(server.url(), dir, {
        onProgress: (bytes) => (bytes === 4 ? server.drop() : answer?.end("0")),
      });
      assert.match(String((done.error as Error).message), /sent more than the 10 bytes it announced/);
    });
  });

  it("gives the size of a download without a length when it ends, not before", async () => {
    await serve([reply(200, { "transfer-encoding": "chunked" }, "abc")], async (server) => {
      const done = await run(server.url(), dir);
      assert.equal(await done.file.reader().size(), 3);
    });
  });
});
