import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import {
  HttpStatusError,
  HttpTimeoutError,
  isHttpUrl,
  isTransient,
  redactUrl,
  send,
  Watchdog,
} from "../../../src/core/io/http.ts";
import { serve } from "./download-run.ts";
import { cut, reply, silence, stall, type Answer } from "./scripted-server.ts";

/** Whether a promise is still unsettled after a short while. */
async function pending(promise: Promise<unknown>): Promise<boolean> {
  const marker = Symbol("pending");
  const timer = new Promise((resolve) => setTimeout(() => resolve(marker), 40));
  return (await Promise.race([promise.catch(() => undefined), timer])) === marker;
}

/** A promise that resolves when the returned callback is called. */
function signal(): { fired: Promise<void>; fire: () => void } {
  let fire = () => {};
  const fired = new Promise<void>((resolve) => (fire = resolve));
  return { fired, fire };
}

/** Reads a response body to its end, as text. */
async function text(body: AsyncIterable<unknown>): Promise<string> {
  let all = "";
  for await (const chunk of body) all += String(chunk);
  return all;
}

const to = (location: string, status = 302): Answer => reply(status, { location, "content-length": 0 });

describe("http client helpers", () => {
  it("knows http(s) URLs by their scheme, in any case", () => {
    for (const yes of ["http://h/x", "HTTPS://host/img.qcow2", "https://h"]) assert.equal(isHttpUrl(yes), true, yes);
    for (const no of ["ftp://h/x", "xhttp://h/x", "http:/h/x", "/srv/http://x", "file:///x"])
      assert.equal(isHttpUrl(no), false, no);
  });

  it("removes credentials from URLs, given as text or URL", () => {
    assert.equal(redactUrl(new URL("https://u:secret@h/x?q=1")), "https://h/x?q=1");
    assert.equal(redactUrl("http://only-user@h:8080/"), "http://h:8080/");
  });

  it("names a timeout ETIMEDOUT, with the idle time", () => {
    const error = new HttpTimeoutError(30);
    assert.equal(error.code, "ETIMEDOUT");
    assert.equal(error.name, "HttpTimeoutError");
    assert.equal(error.message, "no data for 30 ms");
  });

  it("says which request got which status, credentials removed, and which statuses are worth a retry", () => {
    const url = new URL("https://u:pw@h/img");
    assert.equal(
      new HttpStatusError("GET", url, 404, "Not Found").message,
      "GET https://h/img answered HTTP 404 Not Found",
    );
    assert.equal(new HttpStatusError("PUT", url, 500).message, "PUT https://h/img answered HTTP 500");
    assert.equal(new HttpStatusError("GET", url, 500).name, "HttpStatusError");
    const retryable = (status: number) => new HttpStatusError("GET", url, status).retryable;
    for (const status of [408, 429, 500, 502, 503, 599]) assert.equal(retryable(status), true, String(status));
    for (const status of [400, 404, 407, 409, 428, 430, 499, 501])
      assert.equal(retryable(status), false, String(status));
  });

  it("counts drops, timeouts and retryable statuses as transient, and nothing else", () => {
    assert.equal(isTransient(new HttpStatusError("GET", new URL("http://h/"), 503)), true);
    assert.equal(isTransient(new HttpStatusError("GET", new URL("http://h/"), 404)), false);
    assert.equal(isTransient(new HttpTimeoutError(5)), true);
    for (const code of [
      "ECONNRESET",
      "ECONNREFUSED",
      "EPIPE",
      "ETIMEDOUT",
      "EAI_AGAIN",
      "ECONNABORTED",
      "EHOSTUNREACH",
      "ENETUNREACH",
      "ERR_STREAM_PREMATURE_CLOSE",
      "HPE_INVALID_CONSTANT",
    ]) {
      assert.equal(isTransient(Object.assign(new Error("x"), { code })), true, code);
    }
    for (const message of ["aborted", "socket hang up", "Premature close"])
      assert.equal(isTransient(new Error(message)), true, message);
    const abort = Object.assign(new Error("The operation was aborted"), { name: "AbortError" });
    assert.equal(isTransient(abort), false);
    assert.equal(isTransient(Object.assign(new Error("x"), { code: "ENOENT" })), false);
    assert.equal(isTransient({ message: "aborted" }), false, "not an Error");
    assert.equal(isTransient(new Error("boom")), false);
    assert.equal(isTransient(null), false);
    assert.equal(isTransient(undefined), false);
  });
});

describe("watchdog", () => {
  it("fires once the time passes without a kick, and kicks after that change nothing", async () => {
    const first = signal();
    const second = signal();
    let count = 0;
    const dog = new Watchdog(10, () => (count++ === 0 ? first.fire() : second.fire()));
    await first.fired;
    dog.kick();
    assert.equal(await pending(second.fired), true);
  });

  it("does not fire when stopped or paused", async () => {
    const { fired: stopped, fire: fireStopped } = signal();
    new Watchdog(10, fireStopped).stop();
    const { fired: paused, fire: firePaused } = signal();
    new Watchdog(10, firePaused).pause();
    assert.equal(await pending(stopped), true);
    assert.equal(await pending(paused), true);
  });

  it("waits again from each kick", async () => {
    const { fired, fire } = signal();
    const dog = new Watchdog(25, fire);
    const kicks = setInterval(() => dog.kick(), 5);
    assert.equal(await pending(fired), true);
    clearInterval(kicks);
    await fired;
  });
});

describe("send", () => {
  it("follows each redirect status of a GET on the same host, and tells where the answer came from", async () => {
    for (const status of [301, 302, 303, 307, 308]) {
      await serve([to("/b", status), reply(200, { "content-length": 2 }, "ok")], async (server) => {
        const { response, url, idle } = await send(server.url("/a"), { timeoutMs: 2000 });
        assert.equal(response.statusCode, 200, String(status));
        assert.equal(url.pathname, "/b");
        assert.equal(await text(response), "ok");
        idle.stop();
      });
    }
  });

  it("does not follow a redirect of another method, one without a Location, or a 304", async () => {
    const answers = [to("/b"), reply(302, { "content-length": 0 }), reply(304, { location: "/b" })];
    await serve(answers, async (server) => {
      const put = await send(server.url("/a"), { method: "PUT", timeoutMs: 2000 });
      assert.equal(put.response.statusCode, 302);
      assert.equal((await send(server.url("/a"), { timeoutMs: 2000 })).response.statusCode, 302);
      assert.equal((await send(server.url("/a"), { timeoutMs: 2000 })).response.statusCode, 304);
      assert.deepEqual(
        server.asked.map((a) => `${a.method} ${a.path}`),
        ["PUT /a", "GET /a", "GET /a"],
      );
    });
  });

  it("follows five redirects by default, or maxRedirects, and refuses one more", async () => {
    const hops = (n: number) => Array.from({ length: n }, (_, i) => to(`/${i + 1}`));
    await serve([...hops(5), reply(200, { "content-length": 0 })], async (server) => {
      assert.equal((await send(server.url("/0"), { timeoutMs: 2000 })).url.pathname, "/5");
    });
    await serve(hops(6), async (server) => {
      await assert.rejects(
        send(server.url("/0"), { timeoutMs: 2000 }),
        /^Error: too many redirects from http:\/\/127\.0\.0\.1:\d+\/0$/,
      );
      assert.equal(server.asked.length, 6);
    });
    await serve([...hops(2), reply(200, { "content-length": 0 })], async (server) => {
      await assert.rejects(send(server.url("/0"), { timeoutMs: 2000, maxRedirects: 1 }), /too many redirects/);
      assert.equal(server.asked.length, 2);
    });
  });

  it("refuses a redirect to another host unless it is allowed; an allowed local one is not guarded when the first was local", async () => {
    await serve([], async (server) => {
      const other = server.url("/b", "localhost").href;
      const answers = [to(other), to(other), reply(200, { "content-length": 0 })];
      await serve(answers, async (first) => {
        await assert.rejects(
          send(first.url("/a"), { timeoutMs: 2000 }),
          /refusing a redirect from .* to http:\/\/localhost:\d+\/b: localhost:\d+ is not 127\.0\.0\.1:\d+/,
        );
        const { url } = await send(first.url("/a"), { timeoutMs: 2000, allowRedirects: ["localhost"] });
        assert.equal(url.href, other);
      });
    });
  });

  it("sends the headers and streams the body", async () => {
    const echo: Answer = (req, res) => {
      let body = "";
      req.on("data", (chunk) => (body += String(chunk)));
      req.on("end", () => res.writeHead(201, { "x-got": `${req.headers["x-test"]}:${body}` }).end());
    };
    await serve([echo], async (server) => {
      const body = Readable.from(["ab", "cd"]);
      const { response } = await send(server.url(), {
        method: "PUT",
        timeoutMs: 2000,
        headers: { "x-test": "t" },
        body,
      });
      assert.equal(response.headers["x-got"], "t:abcd");
    });
  });

  it("keeps a slow request body alive while it sends", async () => {
    const echo: Answer = (req, res) => {
      let size = 0;
      req.on("data", (chunk: Buffer) => (size += chunk.length));
      req.on("end", () => res.writeHead(201, { "x-size": size }).end());
    };
    await serve([echo], async (server) => {
      let left = 16;
      const body = new Readable({ read() {} });
      // 16 chunks 20 ms apart: the upload lasts twice the idle timeout, each gap a small part of it.
      const timer = setInterval(() => body.push(left-- > 0 ? "abcd" : null), 20);
      try {
        const { response } = await send(server.url(), { method: "PUT", timeoutMs: 160, body });
        assert.equal(response.headers["x-size"], "64");
      } finally {
        clearInterval(timer);
      }
    });
  });

  it("speaks TLS to an https URL", async () => {
    await serve([], async (server) => {
      const error = await send(new URL(server.url().href.replace("http:", "https:")), { timeoutMs: 2000 }).then(
        () => undefined,
        (e: unknown) => e as NodeJS.ErrnoException,
      );
      assert.ok(error);
      assert.notEqual(error.code, "ERR_INVALID_PROTOCOL", "not sent with the plain http client");
    });
  });

  it("fails with the body's error", async () => {
    await serve([silence], async (server) => {
      const body = new Readable({ read() {} });
      const sending = send(server.url(), { method: "PUT", timeoutMs: 2000, body });
      body.destroy(new Error("disk gone"));
      await assert.rejects(sending, /disk gone/);
    });
  });

  it("times out waiting for the answer, and mid-body", async () => {
    // One server each: a request the first timeout cuts before the server sees it would
    // otherwise leave the silent answer to the second request.
    await serve([silence], async (server) => {
      await assert.rejects(send(server.url(), { timeoutMs: 20 }), HttpTimeoutError);
    });
    await serve([stall({ "content-length": 10 }, "01")], async (server) => {
      // Long enough for the headers to arrive on a loaded machine; the body then stalls for good.
      const { response } = await send(server.url(), { timeoutMs: 300 });
      await assert.rejects(text(response), HttpTimeoutError);
    });
  });

  // A watchdog left running would keep the process alive for ten minutes after these tests.
  it("leaves no watchdog running after a refused connection, a body read to its end, a body cut, a response let go", async () => {
    const long = { timeoutMs: 600_000 };
    const refused = await serve([], async (server) => server.url());
    await assert.rejects(send(refused, long), { code: "ECONNREFUSED" });
    await serve(
      [
        reply(200, { "content-length": 2 }, "ok"),
        cut({ "content-length": 10 }, "01"),
        stall({ "content-length": 10 }, "01"),
      ],
      async (server) => {
        assert.equal(await text((await send(server.url(), long)).response), "ok");
        const { response: dropped } = await send(server.url(), long);
        dropped.once("data", () => server.drop());
        await assert.rejects(text(dropped), { code: "ECONNRESET" });
        const { response: unwanted } = await send(server.url(), long);
        await new Promise((resolve) => unwanted.destroy().once("close", resolve));
      },
    );
  });

  it("stops at the signal", async () => {
    await serve([silence], async (server) => {
      const controller = new AbortController();
      const sending = send(server.url(), { timeoutMs: 2000, signal: controller.signal });
      controller.abort();
      await assert.rejects(sending, { name: "AbortError" });
    });
  });
});
