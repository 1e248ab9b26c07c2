import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { Hono } from "hono";
import { isLoopback, refuseTraversal, requestGuard } from "../../src/dashboard/guard.ts";
import { serve, type Served } from "../../src/dashboard/serve.ts";

/** The answer to a request written byte for byte on a socket: status and body. */
interface RawAnswer {
  status: number;
  body: string;
}

/** Sends `head` (a request line and headers, no body) to 127.0.0.1:`port` and reads the whole answer. */
function raw(port: number, head: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    let text = "";
    socket.on("data", (chunk: Buffer) => (text += chunk.toString("latin1")));
    socket.on("error", reject);
    socket.on("end", () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      // The body as sent (a chunked one keeps its chunk sizes: the tests only match words in it).
      resolve({ status, body: text.slice(text.indexOf("\r\n\r\n") + 4) });
    });
    socket.end(`${head}\r\nConnection: close\r\n\r\n`);
  });
}

/** A GET of `path` sent as is (dot segments and escapes untouched). */
const get = (port: number, path: string, host = "127.0.0.1") => raw(port, `GET ${path} HTTP/1.1\r\nHost: ${host}`);

/** A request with a method and extra header lines. */
const send = (port: number, method: string, headers: string[], host = "127.0.0.1") =>
  raw(
    port,
    [
      `${method} /write HTTP/1.1`,
      `Host: ${host}`,
      ...(method === "GET" || method === "HEAD" ? [] : ["Content-Length: 0"]),
      ...headers,
    ].join("\r\n"),
  );

/** An app behind both guards, answering "ok" on every path and method, served on a free loopback port. */
function guardedApp(loopbackOnly: boolean): Hono {
  const app = new Hono();
  app.use("*", refuseTraversal());
  app.use("*", requestGuard({ loopbackOnly }));
  app.all("*", (c) => c.text("ok"));
  return app;
}

describe("isLoopback", () => {
  it("names the loopback interface: localhost, 127.0.0.0/8 written in full, ::1 with or without brackets", () => {
    for (const host of ["localhost", "127.0.0.1", "127.255.10.2", "127.0.0.100", "::1", "[::1]"])
      assert.equal(isLoopback(host), true, host);
  });

  it("refuses look-alikes: other prefixes, suffixes, missing parts, letters, empty", () => {
    const foreign = [
      "",
      "0.0.0.0",
      "128.0.0.1",
      "10.127.0.0.1",
      "127.0.0.1.example",
      "x127.0.0.1",
      "127.0.0",
      "127..0.1",
      "127.a.0.1",
      "127.0.a.1",
      "127.0.0.a",
      "localhost.example",
      "::",
      "[::2]",
      "lOcalhost ",
    ];
    for (const host of foreign) assert.equal(isLoopback(host), false, JSON.stringify(host));
  });
});

describe("requestGuard and refuseTraversal on a real socket", () => {
  let loopback: Served;
  let open: Served;
  before(async () => {
    loopback = await serve({ fetch: guardedApp(true).fetch, hostname: "127.0.0.1", port: 0 });
    open = await serve({ fetch: guardedApp(false).fetch, hostname: "127.0.0.1", port: 0 });
  });
  after(async () => {
    await loopback.close();
    await open.close();
  });

  it("loopback only: a foreign Host header is refused with 403 and a reason; loopback names are served", async () => {
    const foreign = await get(loopback.port, "/", `rebind.example:${loopback.port}`);
    assert.equal(foreign.status, 403);
    assert.match(foreign.body, /loopback address only/);
    for (const host of [
      `127.0.0.1:${loopback.port}`,
      `localhost:${loopback.port}`,
      `[::1]:${loopback.port}`,
      `127.9.9.9:${loopback.port}`,
    ]) {
      assert.deepEqual(await get(loopback.port, "/", host), { status: 200, body: "ok" }, host);
    }
  });

  it("not loopback only (a token guards it instead): any Host is served", async () => {
    assert.deepEqual(await get(open.port, "/", "192.0.2.7"), { status: 200, body: "ok" });
  });

  it("cross-origin writes are refused: a foreign Origin, or Sec-Fetch-Site cross-site, on any method but GET and HEAD", async () => {
    for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
      const foreign = await send(open.port, method, ["Origin: http://evil.example"]);
      assert.equal(foreign.status, 403, method);
      assert.match(foreign.body, /cross-origin request refused/);
      assert.equal((await send(open.port, method, ["Sec-Fetch-Site: cross-site"])).status, 403, method);
    }
    assert.equal(
      (await send(open.port, "POST", ["Origin: not a url"])).status,
      403,
      "an unparsable Origin is not this host",
    );
    assert.equal(
      (await send(open.port, "POST", [`Origin: http://127.0.0.1:${open.port + 1}`])).status,
      403,
      "another port is another origin",
    );
    for (const site of [[], ["Sec-Fetch-Site: same-site"], ["Sec-Fetch-Site: cross-site"], ["Sec-Fetch-Site: none"]]) {
      assert.equal(
        (await send(open.port, "POST", ["Origin: null", ...site])).status,
        403,
        `a hidden origin with ${site.join("") || "no Sec-Fetch-Site"}`,
      );
    }
  });

  it("same-origin writes, writes without Origin, and reads with a foreign Origin are served", async () => {
    assert.equal(
      (await send(open.port, "POST", [`Origin: http://127.0.0.1:${open.port}`], `127.0.0.1:${open.port}`)).status,
      200,
    );
    assert.equal((await send(open.port, "POST", ["Sec-Fetch-Site: same-origin"])).status, 200);
    assert.equal(
      (await send(open.port, "POST", ["Origin: null", "Sec-Fetch-Site: same-origin"])).status,
      200,
      "the pages' own forms (no-referrer: Origin null)",
    );
    assert.equal((await send(open.port, "POST", [])).status, 200);
    assert.equal(
      (await send(open.port, "GET", ["Origin: http://evil.example", "Sec-Fetch-Site: cross-site"])).status,
      200,
    );
    assert.equal(
      (await send(open.port, "HEAD", ["Origin: http://evil.example", "Sec-Fetch-Site: cross-site"])).status,
      200,
    );
  });

  it("refuses traversal as sent on the wire: dot segments, encoded slash, backslash, dot and NUL", async () => {
    for (const path of [
      "/a/../b",
      "/..",
      "/a/%2e%2e/b",
      "/a/%2E./b",
      "/a%2fb",
      "/a%2Fb",
      "/a%5cb",
      "/a%5Cb",
      "/a%00b",
      "/a/.%2e/b",
      "/a%2e",
    ]) {
      const answer = await get(open.port, path);
      assert.equal(answer.status, 400, path);
      assert.match(answer.body, /path traversal refused/, path);
    }
  });

  it("a malformed escape is refused with its own reason; ordinary paths, escapes and queries pass", async () => {
    const malformed = await get(open.port, "/a%zz");
    assert.equal(malformed.status, 400);
    assert.match(malformed.body, /malformed path/);
    for (const path of ["/", "/api/jobs/j-1", "/a%20b", "/a.b/c.d", "/x?next=../../etc&y=%2f"]) {
      assert.deepEqual(await get(open.port, path), { status: 200, body: "ok" }, path);
    }
  });
});

describe("refuseTraversal on what the server hands over", () => {
  const app = guardedApp(false);
  /** The app's status for a request whose line, as Node received it, held `sent`. */
  const statusFor = async (sent: string) =>
    (await app.fetch(new Request("http://127.0.0.1/plain"), { incoming: { url: sent } })).status;

  it("judges the request line as received, not the URL parsed from it: a backslash, a raw NUL, dot segments", async () => {
    assert.equal(await statusFor("/a\\b"), 400);
    assert.equal(await statusFor("/a\0b"), 400);
    assert.equal(await statusFor("/a/../b"), 400);
    assert.equal(await statusFor("/plain?x=.."), 200, "the query is not part of the path");
    assert.equal(await statusFor("/plain"), 200);
  });

  it("without Node's request (another runtime's server), judges the parsed URL's path", async () => {
    assert.equal((await app.request("http://127.0.0.1/a%2fb")).status, 400);
    assert.equal((await app.request("http://127.0.0.1/a/b")).status, 200);
    assert.equal((await app.fetch(new Request("http://127.0.0.1/a%5cb"), { incoming: {} })).status, 400);
    assert.equal(
      (await app.fetch(new Request("http://127.0.0.1/a%5cb"), {})).status,
      400,
      "an environment without the request",
    );
    assert.equal((await app.fetch(new Request("http://127.0.0.1/a/b"), {})).status, 200);
  });
});
