import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { guardedLookup, isLocalAddress, redirectRefusal } from "../../../src/core/io/redirects.ts";

const u = (text: string) => new URL(text);

describe("redirect policy", () => {
  it("knows loopback, link-local and unspecified addresses, IPv4, IPv6 and mapped", () => {
    for (const address of [
      "127.0.0.1",
      "127.255.0.9",
      "0.0.0.0",
      "169.254.169.254",
      "::1",
      "[::1]",
      "::",
      "fe80::1",
      "feb0::2",
      "::ffff:127.0.0.1",
      "::ffff:169.254.1.1",
      "::ffff:7f00:1",
      "::ffff:a9fe:a9fe",
    ]) {
      assert.equal(isLocalAddress(address), true, address);
    }
    for (const address of [
      "10.0.0.1",
      "192.168.1.1",
      "8.8.8.8",
      "2001:db8::1",
      "fc00::1",
      "::ffff:8.8.8.8",
      "example.com",
    ]) {
      assert.equal(isLocalAddress(address), false, address);
    }
  });

  it("follows the same scheme and host only, unless the host is allowed; never https to http", () => {
    const first = u("https://images.example/a.qcow2");
    assert.equal(redirectRefusal(first, first, u("https://images.example/b.qcow2"), []), undefined);
    assert.match(
      String(redirectRefusal(first, first, u("https://cdn.example/b.qcow2"), [])),
      /not in fetch.allowRedirects/,
    );
    assert.match(
      String(redirectRefusal(first, first, u("https://images.example:8443/b"), [])),
      /not in fetch.allowRedirects/,
      "another port is another host",
    );
    assert.equal(redirectRefusal(first, first, u("https://cdn.example/b.qcow2"), ["cdn.example"]), undefined);
    assert.equal(redirectRefusal(first, first, u("https://eu.cdn.example/b"), ["*.cdn.example"]), undefined);
    assert.match(
      String(redirectRefusal(first, first, u("https://cdn.example.evil/b"), ["*.cdn.example"])),
      /not in fetch.allowRedirects/,
    );
    assert.match(
      String(redirectRefusal(first, first, u("http://images.example/b"), ["images.example"])),
      /leaves https/,
    );
    assert.match(String(redirectRefusal(first, first, u("file:///etc/passwd"), [])), /not http or https/);
  });

  it("never leads to a loopback or link-local address unless the first URL was one", () => {
    const first = u("http://images.example/a");
    for (const to of [
      "http://127.0.0.1/x",
      "http://169.254.169.254/latest/meta-data",
      "http://[::1]:8080/x",
      "http://localhost/x",
      "http://[::ffff:127.0.0.1]/x",
    ]) {
      assert.match(String(redirectRefusal(first, first, u(to), [new URL(to).hostname])), /loopback or link-local/, to);
    }
    const local = u("http://127.0.0.1:8080/a");
    assert.equal(redirectRefusal(local, local, u("http://127.0.0.1:8080/b"), []), undefined);
    assert.equal(redirectRefusal(local, local, u("http://localhost:8080/b"), ["localhost"]), undefined);
  });

  it("resolves with the guard when asked to (a download resumed where a redirect led)", async () => {
    const { send } = await import("../../../src/core/io/http.ts");
    await assert.rejects(
      send(new URL("http://localhost:9/x"), { timeoutMs: 2000, guardLookup: true }),
      /resolves to a loopback or link-local address/,
    );
  });

  it("resolves with the guard even where a kept-alive connection to the same host is pooled", async () => {
    const { createServer } = await import("node:http");
    const { send } = await import("../../../src/core/io/http.ts");
    const server = createServer({ keepAliveTimeout: 30_000 }, (_request, response) => response.end("ok"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    try {
      const open = await send(new URL(`http://localhost:${port}/first`), { timeoutMs: 2000 });
      for await (const _chunk of open.response) open.idle.kick();
      await assert.rejects(
        send(new URL(`http://localhost:${port}/second`), { timeoutMs: 2000, guardLookup: true }),
        /resolves to a loopback or link-local address/,
      );
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("refuses a name that resolves only to loopback after a redirect", async () => {
    const error = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
      guardedLookup("localhost", {}, (e) => resolve(e)),
    );
    assert.equal(error?.code, "EREDIRECTLOCAL");
  });
});
