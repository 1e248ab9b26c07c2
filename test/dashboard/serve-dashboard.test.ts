import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPipeline } from "../../src/create-pipeline.ts";
import { serveDashboard } from "../../src/dashboard/serve-dashboard.ts";
import { createSpool, type Spool } from "../../src/spool/spool.ts";
import { tempDir } from "../helpers/images.ts";
import { loopbackGet } from "../helpers/loopback-get.ts";

const TOKEN = "a token nobody guesses";

const portOf = (url: string) => Number(new URL(url).port);

describe("dashboard served on a real socket, bound the way users bind it (the CLI's side: test/cli/watch.test.ts)", () => {
  const { dir, cleanup } = tempDir();
  let spool: Spool;
  before(async () => {
    spool = createSpool({
      root: join(dir, "spool"),
      pipeline: createPipeline({ workDir: join(dir, "work") }),
      settleMs: 100,
    });
    await spool.start();
  });
  after(async () => {
    await spool.stop();
    cleanup();
  });

  it("refuses to listen beyond loopback without a token", async () => {
    await assert.rejects(serveDashboard({ spool, hostname: "0.0.0.0", port: 0 }), /requires a token/);
    await assert.rejects(serveDashboard({ spool, hostname: "::", port: 0, token: "" }), /requires a token/);
  });

  it("listens on 127.0.0.1 when no host is given, open without a token", async () => {
    const server = await serveDashboard({ spool, port: 0 });
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      assert.equal(await loopbackGet(portOf(server.url), "/api/jobs"), 200);
    } finally {
      await server.close();
    }
  });

  it("bound to 0.0.0.0 with a token: every request needs the token", async () => {
    const server = await serveDashboard({ spool, hostname: "0.0.0.0", port: 0, token: TOKEN });
    try {
      const port = portOf(server.url);
      assert.equal(await loopbackGet(port, "/api/jobs", { host: `192.0.2.7:${port}` }), 401);
      assert.equal(
        await loopbackGet(port, "/api/jobs", { host: `192.0.2.7:${port}`, authorization: `Bearer ${TOKEN}` }),
        200,
      );
      assert.equal(await loopbackGet(port, "/api/jobs", { authorization: "Bearer wrong" }), 401);
    } finally {
      await server.close();
    }
  });

  it("bound to loopback: a foreign Host header (DNS rebinding) is refused, a loopback one answered", async () => {
    const server = await serveDashboard({ spool, hostname: "127.0.0.1", port: 0 });
    try {
      const port = portOf(server.url);
      assert.equal(await loopbackGet(port, "/api/jobs", { host: `rebind.example:${port}` }), 403);
      assert.equal(await loopbackGet(port, "/api/jobs", { host: `127.0.0.1:${port}` }), 200);
      assert.equal(await loopbackGet(port, "/api/jobs", { host: `localhost:${port}` }), 200);
    } finally {
      await server.close();
    }
  });
});
