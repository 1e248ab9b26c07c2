import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { UserConfig } from "../../../src/core/config.ts";
import { putFile } from "../../../src/core/io/http-sink.ts";
import { createPipeline } from "../../../src/create-pipeline.ts";
import { definePlugin } from "../../../src/core/plugin.ts";
import { failure, MiB } from "../../helpers/failure.ts";
import { makeImage, makeRaw, qemuImg, sameDisk, tempDir } from "../../helpers/images.ts";
import { TestServer } from "./server.ts";

describe("http sink (PUT)", () => {
  const { dir, cleanup } = tempDir();
  const work = join(dir, "work");
  const server = new TestServer();
  let raw = "";
  let vmdk = "";
  const config = (extra: UserConfig = {}): UserConfig => ({
    workDir: work,
    fetch: { timeoutMs: 5000, retries: 1, backoffMs: 5 },
    ...extra,
  });
  const workLeft = () => (existsSync(join(work, "diskpipe")) ? readdirSync(join(work, "diskpipe")) : []);

  before(async () => {
    raw = makeRaw(join(dir, "disk.raw"), 6 * MiB);
    vmdk = makeImage(raw, "vmdk", join(dir, "disk.vmdk"));
    await server.start();
    server.routes.set("/put/fail.qcow2", { putStatus: 500 });
    server.routes.set("/put/forbidden.qcow2", { putStatus: 403 });
  });
  after(async () => {
    await server.stop();
    cleanup();
  });

  it("converts, re-inspects the output and PUTs it with its Content-Length", async () => {
    const pipeline = createPipeline(config());
    const result = await pipeline.run({ source: vmdk, destination: server.url("/put/disk.qcow2"), to: "qcow2" });
    const body = server.stored.get("/put/disk.qcow2");
    assert.ok(body, "nothing was stored");
    assert.equal(body.length, result.outputSize);
    const copy = join(dir, "uploaded.qcow2");
    (await import("node:fs")).writeFileSync(copy, body);
    assert.ok(sameDisk(raw, "raw", copy, "qcow2"));
    assert.equal(JSON.parse(qemuImg("info", "--output=json", "-f", "qcow2", copy)).format, "qcow2");
    assert.deepEqual(workLeft(), []);
  });

  it("fetches over HTTP and PUTs over HTTP in one job (raw to raw through the copy engine)", async () => {
    server.routes.set("/src/disk.raw", { file: raw });
    const pipeline = createPipeline(config());
    await pipeline.run({ source: server.url("/src/disk.raw"), destination: server.url("/put/copy.raw"), to: "raw" });
    assert.deepEqual(server.stored.get("/put/copy.raw"), readFileSync(raw));
    assert.deepEqual(workLeft(), []);
  });

  it("a 500 or 403 answer is upload-failed (exit 1) with the status, and nothing is left", async () => {
    const pipeline = createPipeline(config());
    const broken = await failure(
      pipeline.run({ source: vmdk, destination: server.url("/put/fail.qcow2"), to: "qcow2" }),
    );
    assert.equal(broken.code, "upload-failed");
    assert.equal(broken.exitCode, 1);
    assert.match(broken.message, /HTTP 500/);
    assert.equal(server.requests("/put/fail.qcow2", "PUT").length, 2, "a 500 is retried fetch.retries times");
    const forbidden = await failure(
      pipeline.run({ source: vmdk, destination: server.url("/put/forbidden.qcow2"), to: "qcow2" }),
    );
    assert.match(forbidden.message, /HTTP 403/);
    assert.equal(server.requests("/put/forbidden.qcow2", "PUT").length, 1);
    assert.equal(server.stored.has("/put/fail.qcow2"), false);
    assert.deepEqual(workLeft(), []);
  });

  it("refuses to upload an output that is not a safe image of the target format", async () => {
    const spoil = definePlugin({
      name: "spoil",
      hooks: {
        async postConvert(ctx) {
          // Plants a qcow2 header in a raw output, as a broken converter might.
          const header = Buffer.from("514649fb00000003", "hex");
          const { open } = await import("node:fs/promises");
          const handle = await open(ctx.output!.path, "r+");
          await handle.write(header, 0, header.length, 0);
          await handle.close();
        },
      },
    });
    const pipeline = createPipeline(config({ plugins: [spoil] }));
    const error = await failure(pipeline.run({ source: vmdk, destination: server.url("/put/spoiled.raw"), to: "raw" }));
    assert.equal(error.code, "upload-failed");
    assert.match(error.message, /not a safe raw image/);
    assert.equal(server.requests("/put/spoiled.raw", "PUT").length, 0);
    assert.deepEqual(workLeft(), []);
  });

  it("streams from disk: a connection refused is upload-failed", async () => {
    const file = join(dir, "small.bin");
    mkdirSync(dir, { recursive: true });
    (await import("node:fs")).writeFileSync(file, Buffer.alloc(1000, 7));
    const error = await failure(putFile(new URL("http://127.0.0.1:1/nothing"), file, { timeoutMs: 1000, retries: 0 }));
    assert.equal(error.code, "upload-failed");
    assert.match(error.message, /ECONNREFUSED/);
  });

  it("with refuseLocalHosts, a destination whose name resolves to loopback is refused before any request", async () => {
    const file = join(dir, "guarded.bin");
    mkdirSync(dir, { recursive: true });
    (await import("node:fs")).writeFileSync(file, Buffer.alloc(1000, 7));
    const before = server.requests("/put/guarded.bin", "PUT").length;
    const url = new URL(server.url("/put/guarded.bin"));
    url.hostname = "localhost";
    const error = await failure(putFile(url, file, { timeoutMs: 2000, retries: 0, refuseLocalHosts: true }));
    assert.equal(error.code, "upload-failed");
    assert.match(error.message, /resolves to a loopback or link-local address/);
    assert.equal(server.requests("/put/guarded.bin", "PUT").length, before);
  });
});
