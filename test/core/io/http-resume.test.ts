import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { DownloadOptions } from "../../../src/core/io/http-download.ts";
import type { HttpStatusError } from "../../../src/core/io/http.ts";
import { tempDir } from "../../helpers/images.ts";
import { codeOf, run, serve, sha256, type Run } from "./download-run.ts";
import { cut, reply, type Answer, type ScriptedServer } from "./scripted-server.ts";

const TEN = "0123456789";
const chunked = { "transfer-encoding": "chunked" };
/** The first answer of most tests: 4 of 10 announced bytes, then the connection drops. */
const dropAt4 = cut({ "content-length": 10, etag: '"e1"' }, "0123");
/** The same without a length: nothing known of the total. */
const dropAt4Unsized = cut({ ...chunked, etag: '"e1"' }, "0123");

describe("download: resumes after a dropped connection", () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);

  /** Downloads through `answers`, dropping each held answer once its bytes are on disk. */
  const fetch = (answers: Answer[], options: Partial<DownloadOptions> = {}): Promise<[Run, ScriptedServer]> =>
    serve(answers, async (server) => [
      await run(server.url(), dir, { retries: 3, onProgress: () => server.drop(), ...options }),
      server,
    ]);

  it("asks for the rest with Range and the strong ETag as If-Range; the hash covers the whole file", async () => {
    const [done, server] = await fetch([
      dropAt4,
      reply(206, { "content-length": 6, "content-range": "bytes 4-9/10" }, "456789"),
    ]);
    assert.deepEqual(done.result, { hash: sha256(TEN), size: 10 });
    assert.equal(done.bytes.toString(), TEN);
    assert.equal(server.asked[1]?.headers.range, "bytes=4-");
    assert.equal(server.asked[1]?.headers["if-range"], '"e1"');
    assert.equal(done.notices.length, 1);
    assert.match(String(done.notices[0]), /interrupted at 4 B .*retry 1 of 3$/);
  });

  it("keeps the total the first answer announced when a resume's Content-Range leaves it unsaid", async () => {
    const progress: [number, number | undefined][] = [];
    const answers = [dropAt4, reply(206, { "content-length": 6, "content-range": "bytes 4-9/*" }, "456789")];
    const done = await serve(answers, (server) =>
      run(server.url(), dir, {
        retries: 3,
        onProgress: (bytes, total) => (progress.push([bytes, total]), server.drop()),
      }),
    );
    assert.deepEqual(done.result, { hash: sha256(TEN), size: 10 });
    assert.deepEqual(progress.at(-1), [10, 10]);
  });

  it("resumes a download whose own URL names localhost: only where a redirect led is resolved with the guard", async () => {
    const rest = reply(206, { "content-length": 6, "content-range": "bytes 4-9/10" }, "456789");
    const [done, server] = await serve(
      [dropAt4, rest],
      async (server) =>
        [
          await run(server.url("/img", "localhost"), dir, { retries: 3, onProgress: () => server.drop() }),
          server,
        ] as const,
    );
    assert.deepEqual(done.result, { hash: sha256(TEN), size: 10 });
    assert.equal(server.asked[1]?.headers.range, "bytes=4-");
  });

  it("sends Last-Modified as If-Range when the ETag is weak, and no If-Range without either", async () => {
    const modified = "Tue, 01 Dec 2026 00:00:00 GMT";
    const rest = reply(206, { "content-length": 6, "content-range": "bytes 4-9/10" }, "456789");
    const [weak, first] = await fetch([
      cut({ "content-length": 10, etag: 'W/"e1"', "last-modified": modified }, "0123"),
      rest,
    ]);
    assert.equal(weak.result?.size, 10);
    assert.equal(first.asked[1]?.headers["if-range"], modified);
    const [bare, second] = await fetch([cut({ "content-length": 10 }, "0123"), rest]);
    assert.equal(bare.result?.size, 10);
    assert.equal(second.asked[1]?.headers.range, "bytes=4-");
    assert.equal(second.asked[1]?.headers["if-range"], undefined);
  });

  for (const [name, headers] of [
    ["starts elsewhere", { "content-length": 7, "content-range": "bytes 3-9/10" }],
    ["has no Content-Range", { "content-length": 6 }],
    ["names another total", { "content-length": 7, "content-range": "bytes 4-10/11" }],
  ] as const) {
    it(`refuses a 206 that ${name}, without a retry`, async () => {
      const [done, server] = await fetch([dropAt4, reply(206, headers, "4567890".slice(0, headers["content-length"]))]);
      assert.equal(codeOf(done.error), "fetch-failed");
      assert.match(String((done.error as Error).message), /answered a resume at byte 4 with Content-Range/);
      assert.equal(server.asked.length, 2);
    });
  }

  it("refuses a 206 whose total is below what was already sent, and takes one equal to it", async () => {
    const [shrunk] = await fetch([dropAt4Unsized, reply(206, { "content-length": 0, "content-range": "bytes 4-3/3" })]);
    assert.equal(codeOf(shrunk.error), "fetch-failed");
    const [equal] = await fetch([dropAt4Unsized, reply(206, { "content-length": 0, "content-range": "bytes 4-3/4" })]);
    assert.deepEqual(equal.result, { hash: sha256("0123"), size: 4 });
    assert.equal(equal.file.expected, 4);
  });

  it("learns the total from a resume when the first answer had none", async () => {
    const [done] = await fetch([
      dropAt4Unsized,
      reply(206, { "content-length": 6, "content-range": "bytes 4-9/10" }, "456789"),
    ]);
    assert.deepEqual(done.result, { hash: sha256(TEN), size: 10 });
    assert.equal(done.file.expected, 10);
    const [unknown] = await fetch([
      dropAt4Unsized,
      reply(206, { "content-length": 6, "content-range": "bytes 4-9/*" }, "456789"),
    ]);
    assert.equal(unknown.result?.size, 10);
    assert.equal(unknown.file.expected, undefined);
    assert.equal(await unknown.file.reader().size(), 10);
  });

  it("takes a resume whose total is unknown (*) when the first answer announced one", async () => {
    const [done] = await fetch([
      dropAt4,
      reply(206, { "content-length": 6, "content-range": "bytes 4-9/*" }, "456789"),
    ]);
    assert.deepEqual(done.result, { hash: sha256(TEN), size: 10 });
    const [longer] = await fetch([
      dropAt4,
      reply(206, { "content-length": 7, "content-range": "bytes 4-10/*" }, "4567890"),
    ]);
    assert.match(
      String((longer.error as Error).message),
      /sent more than the 10 bytes it announced/,
      "the total announced first is kept",
    );
  });

  it("refuses a resume that sends more than the announced total", async () => {
    const [done] = await fetch([
      dropAt4,
      reply(206, { "content-length": 7, "content-range": "bytes 4-9/10" }, "4567890"),
    ]);
    assert.equal(codeOf(done.error), "fetch-failed");
    assert.match(String((done.error as Error).message), /sent more than the 10 bytes it announced/);
    assert.equal(done.bytes.toString(), "0123");
  });

  it("takes a 416 as the end when every announced byte is in", async () => {
    const rest = cut({ ...chunked, "content-range": "bytes 4-9/10" }, "456789", 206);
    const [done, server] = await fetch([dropAt4Unsized, rest, reply(416, {})]);
    assert.deepEqual(done.result, { hash: sha256(TEN), size: 10 });
    assert.equal(server.asked[2]?.headers.range, "bytes=10-");
  });

  it("fails on a 416 while bytes are missing, and on a first answer of 416", async () => {
    const [short, server] = await fetch([dropAt4, reply(416, {})]);
    assert.equal(codeOf(short.error), "fetch-failed");
    assert.equal(((short.error as Error).cause as HttpStatusError).status, 416);
    assert.equal(server.asked.length, 2);
    const [first] = await fetch([reply(416, {})]);
    assert.equal(((first.error as Error).cause as HttpStatusError).status, 416);
  });

  it("takes only a 416 as the end once every byte is in, and reads nothing of it", async () => {
    const rest = () => cut({ ...chunked, "content-range": "bytes 4-9/10" }, "456789", 206);
    const [notFound] = await fetch([dropAt4Unsized, rest(), reply(404, {})]);
    assert.equal(((notFound.error as Error).cause as HttpStatusError).status, 404);
    const [page] = await fetch([dropAt4Unsized, rest(), reply(416, { "content-length": 9 }, "not there")]);
    assert.deepEqual(page.result, { hash: sha256(TEN), size: 10 });
  });

  it("takes an answer that ends cleanly short of its announced total as a drop, and resumes", async () => {
    const short = reply(206, { ...chunked, "content-range": "bytes 4-9/10" }, "45");
    const [done, server] = await fetch([
      dropAt4,
      short,
      reply(206, { "content-length": 4, "content-range": "bytes 6-9/10" }, "6789"),
    ]);
    assert.deepEqual(done.result, { hash: sha256(TEN), size: 10 });
    assert.equal(server.asked[2]?.headers.range, "bytes=6-");
    assert.match(String(done.notices[1]), /connection closed after 6 of 10 bytes \(ECONNRESET\)/);
  });

  it("resumes where a redirect led, not at the first URL", async () => {
    // The redirect's connection closes: the resume must make a new one (with a lookup of localhost).
    const answers = [
      reply(302, { location: "/moved", connection: "close" }),
      dropAt4,
      reply(206, { "content-length": 6, "content-range": "bytes 4-9/10" }, "456789"),
    ];
    const done = await serve(answers, async (server) => {
      const result = await run(server.url("/img", "localhost"), dir, { onProgress: () => server.drop() });
      assert.deepEqual(
        server.asked.map((a) => a.path),
        ["/img", "/moved", "/moved"],
      );
      return result;
    });
    assert.deepEqual(done.result, { hash: sha256(TEN), size: 10 });
  });
});

describe("download: a server that ignores Range is read again and compared", () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);

  const fetch = (answers: Answer[]): Promise<[Run, ScriptedServer]> =>
    serve(answers, async (server) => [
      await run(server.url(), dir, { retries: 3, onProgress: () => server.drop() }),
      server,
    ]);

  it("takes the same bytes again, hashing the file once", async () => {
    const [done, server] = await fetch([dropAt4, reply(200, { "content-length": 10 }, TEN)]);
    assert.deepEqual(done.result, { hash: sha256(TEN), size: 10 });
    assert.equal(done.bytes.toString(), TEN);
    assert.match(String(done.notices.at(-1)), /ignored the Range request/);
    assert.equal(server.asked.length, 2);
  });

  it("takes the same bytes again when the second answer has no length", async () => {
    const [done] = await fetch([dropAt4, reply(200, chunked, TEN)]);
    assert.deepEqual(done.result, { hash: sha256(TEN), size: 10 });
    const [quiet] = await serve([dropAt4, reply(200, chunked, TEN)], async (server) => [
      await run(server.url(), dir, { onNotice: undefined, onProgress: () => server.drop() }),
    ]);
    assert.equal(quiet.result?.size, 10, "without anyone to tell");
  });

  it("takes the same bytes again with a length when the first answer had none", async () => {
    const [done] = await fetch([dropAt4Unsized, reply(200, { "content-length": 10 }, TEN)]);
    assert.deepEqual(done.result, { hash: sha256(TEN), size: 10 });
  });

  for (const [name, answer] of [
    ["other bytes", reply(200, { "content-length": 10 }, "0X23456789")],
    ["another length", reply(200, { "content-length": 11 }, `${TEN}!`)],
    ["fewer bytes than were kept", reply(200, chunked, "01")],
  ] as const) {
    it(`refuses a file that changed: ${name}`, async () => {
      const [done, server] = await fetch([dropAt4, answer]);
      assert.equal(codeOf(done.error), "fetch-failed");
      assert.match(String((done.error as Error).message), /changed while it was being downloaded/);
      assert.equal(done.bytes.toString(), "0123");
      assert.equal(server.asked.length, 2);
    });
  }

  it("compares a replay that arrives in pieces across the bytes kept", async () => {
    const pieces: Answer = (_req, res) => {
      res.writeHead(200, chunked);
      res.write("01");
      setImmediate(() => res.end("23456789"));
    };
    const [done] = await fetch([dropAt4, pieces]);
    assert.deepEqual(done.result, { hash: sha256(TEN), size: 10 });
  });
});
