import assert from "node:assert/strict";
import type { LookupAddress } from "node:dns";
import { after, before, describe, it } from "node:test";
import { send } from "../../../src/core/io/http.ts";
import { guardedLookup, isLocalAddress, namesLocalHost, redirectRefusal } from "../../../src/core/io/redirects.ts";
import { loopbackName } from "../../helpers/loopback-name.ts";
import { requirement } from "../../helpers/requirement.ts";
import { tempDir } from "../../helpers/images.ts";
import { codeOf, run, serve, sha256 } from "./download-run.ts";
import { reply } from "./scripted-server.ts";

const u = (text: string) => new URL(text);

/** What `guardedLookup` calls back with, for `hostname` and `options`. */
function guarded(
  host: string,
  options: { all?: boolean } = {},
): Promise<{ error: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number }> {
  return new Promise((resolve) =>
    guardedLookup(host, options as { all: true }, (error, address, family) =>
      resolve({ error, address, ...(family !== undefined && { family }) }),
    ),
  );
}

describe("redirect policy, edges", () => {
  it("reads addresses in any case, and only the first octets that make them local", () => {
    for (const address of [
      "0.1.2.3",
      "::FFFF:127.0.0.1",
      "FE80::1",
      "fe9f::1",
      "fea0::1",
      "[FE80::1]",
      "::ffff:7f00:101",
      "::ffff:127.0.10.1",
    ])
      assert.equal(isLocalAddress(address), true, address);
    for (const address of [
      "169.1.1.1",
      "1.254.0.0",
      "128.0.0.1",
      "fec0::1",
      "2001:db8:fe80::1",
      "fe8::1",
      "::2",
      "::ffff:a9ff:0101",
      "::ffff:8.8.8.8.1",
      "x::ffff:127.0.0.1",
      "::ffff:127.0.0.1:1",
      "::ffff:7f00:1:2",
      "1::ffff:7f00:1",
      "::1]]",
      "[[::1",
      "fe80:zz",
      "",
    ]) {
      assert.equal(isLocalAddress(address), false, address);
    }
  });

  it("knows localhost names, and not names that merely end like one", () => {
    for (const url of [
      "http://localhost/",
      "http://LOCALHOST:8080/",
      "http://a.b.localhost/",
      "http://[::1]/",
      "http://0x7f000001/",
    ])
      assert.equal(namesLocalHost(u(url)), true, url);
    for (const url of [
      "http://evillocalhost/",
      "http://localhost.example/",
      "http://[2001:db8::1]/",
      "http://images.example/",
    ])
      assert.equal(namesLocalHost(u(url)), false, url);
  });

  it("reads allow-list entries in any case, with a scheme or a path, bracketed or not", () => {
    const first = u("https://images.example/a");
    for (const [entry, target] of [
      ["CDN.Example", "https://cdn.example/b"],
      ["https://cdn.example/some/path", "https://cdn.example/b"],
      ["cdn.example", "https://cdn.example:8443/b"],
      ["cdn.example:8443", "https://cdn.example:8443/b"],
      ["2001:db8::1", "https://[2001:db8::1]/b"],
      ["[2001:db8::1]", "https://[2001:db8::1]:8443/b"],
      ["*.cdn.example", "https://a.b.cdn.example/b"],
    ]) {
      assert.equal(redirectRefusal(first, first, u(target), ["other.example", entry]), undefined, `${entry} ${target}`);
    }
    for (const [entry, target] of [
      ["cdn.example:8443", "https://cdn.example:9443/b"],
      ["cdn.example:8443", "https://cdn.example/b"],
      ["*.cdn.example", "https://cdn.example/b"],
      ["*.cdn.example", "https://evilcdn.example/b"],
      ["cdn.example", "https://a.cdn.example/b"],
      ["cdn.example/", "https://cdn.example.evil/b"],
      ["cdn[.example", "https://cdn.example/b"],
      ["*.https://cdn.example", "https://a.cdn.example/b"],
    ]) {
      assert.match(
        String(redirectRefusal(first, first, u(target), [entry])),
        /is not images\.example and not in fetch\.allowRedirects/,
        `${entry} ${target}`,
      );
    }
  });

  it("judges the scheme of each hop, and an upgrade to https as another origin", () => {
    const first = u("http://images.example/a");
    const hop = u("https://images.example/b");
    assert.match(String(redirectRefusal(first, hop, u("http://images.example/c"), ["images.example"])), /leaves https/);
    assert.equal(redirectRefusal(first, first, u("http://images.example/c"), []), undefined);
    assert.match(String(redirectRefusal(first, first, hop, [])), /not in fetch\.allowRedirects/);
    assert.equal(redirectRefusal(first, first, hop, ["images.example"]), undefined);
    assert.match(
      String(redirectRefusal(first, first, u("shttp://images.example/c"), ["images.example"])),
      /not http or https/,
    );
    assert.match(
      String(redirectRefusal(first, first, u("https+x://images.example/c"), ["images.example"])),
      /not http or https/,
    );
  });

  it("lets a redirect from a local first URL stay local, but not from a public one to a local one by name", () => {
    const local = u("http://localhost:8080/a");
    assert.equal(redirectRefusal(local, local, u("http://127.0.0.1:9/b"), ["127.0.0.1"]), undefined);
    const first = u("http://images.example/a");
    assert.match(
      String(redirectRefusal(first, first, u("http://a.localhost/b"), ["*.localhost"])),
      /loopback or link-local/,
    );
    assert.equal(redirectRefusal(first, first, u("http://10.0.0.1/b"), ["10.0.0.1"]), undefined);
  });

  it("passes addresses that are not local through the guarded lookup, one or all", async () => {
    assert.deepEqual(await guarded("8.8.8.8"), { error: null, address: "8.8.8.8", family: 4 });
    assert.deepEqual(await guarded("8.8.8.8", { all: true }), {
      error: null,
      address: [{ address: "8.8.8.8", family: 4 }],
    });
    const refused = await guarded("127.0.0.1", { all: true });
    assert.equal(refused.error?.code, "EREDIRECTLOCAL");
    assert.deepEqual(refused.address, []);
    const unknown = await guarded("-");
    assert.equal(unknown.error?.code, "ENOTFOUND");
    assert.deepEqual(unknown.address, []);
  });
});

describe("a name that resolves to loopback", () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);
  let name: string | undefined;
  before(async () => (name = await loopbackName()));

  it("is reached unguarded as the first URL, and refused after a redirect, in send and in a download", async (t) => {
    const missing = requirement(
      name
        ? false
        : "needs a host name that resolves to 127.0.0.1 only (this machine kind's /etc/hosts has vm and runsc)",
    );
    if (missing || !name) return t.skip(missing || undefined);
    const host = name;
    // Each answer closes its connection: a kept-alive one would be used again without a lookup.
    const close = { connection: "close" };
    const answers = [
      reply(200, { ...close, "content-length": 2 }, "ok"),
      reply(302, { ...close, location: "/b" }),
      reply(302, { ...close, location: "/b" }),
      reply(200, { ...close, "content-length": 2 }, "ok"),
    ];
    await serve(answers, async (server) => {
      const { response } = await send(server.url("/a", host), { timeoutMs: 2000 });
      assert.equal(response.statusCode, 200);
      response.resume();
      await assert.rejects(send(server.url("/a", host), { timeoutMs: 2000 }), { code: "EREDIRECTLOCAL" });
      const refused = await run(server.url("/a", host), dir, { retries: 0 });
      assert.equal(codeOf(refused.error), "fetch-failed");
      assert.equal(codeOf((refused.error as Error).cause), "EREDIRECTLOCAL");
      const done = await run(server.url("/a", host), dir);
      assert.deepEqual(done.result, { hash: sha256("ok"), size: 2 });
      assert.deepEqual(
        server.asked.map((a) => a.path),
        ["/a", "/a", "/a", "/a"],
      );
    });
  });
});
