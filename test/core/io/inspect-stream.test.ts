import assert from "node:assert/strict";
import { createReadStream, readFileSync, readdirSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { inspectStream } from "../../../src/standard-formats.ts";
import { createPipeline } from "../../../src/create-pipeline.ts";
import { diskpipeAsync } from "../../helpers/cli.ts";
import { makeImage, makeRaw, qemuImg, tempDir } from "../../helpers/images.ts";

describe("inspecting streams and URLs", () => {
  const { dir, cleanup } = tempDir();
  const work = join(dir, "work");
  let good = "";
  let hostile = "";
  let server: Server;
  let base = "";
  let served = 0;

  before(async () => {
    good = makeImage(makeRaw(join(dir, "a.raw"), 8 * 1024 * 1024), "vmdk", join(dir, "a.vmdk"));
    hostile = join(dir, "evil.qcow2");
    qemuImg("create", "-f", "qcow2", "-b", good, "-F", "vmdk", hostile, "1G");
    // Pad the hostile image so a full read would be obvious.
    const { truncateSync } = await import("node:fs");
    truncateSync(hostile, 64 * 1024 * 1024);
    server = createServer((request, response) => {
      const name = decodeURIComponent(new URL(request.url ?? "/", "http://x").pathname.slice(1));
      const path = join(dir, name);
      let body: Buffer;
      try {
        body = readFileSync(path);
      } catch {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { "content-length": body.length });
      const stream = Readable.from(chunks(body));
      stream.on("data", (chunk: Buffer) => (served += chunk.length));
      stream.pipe(response);
      response.on("close", () => stream.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    cleanup();
  });

  it("inspects a Node stream and a web stream", async () => {
    const pipeline = createPipeline({ workDir: work });
    const fromNode = await pipeline.inspect(createReadStream(good));
    assert.equal(fromNode.format, "vmdk");
    assert.equal(fromNode.safe, true);
    const fromWeb = await pipeline.inspect(Readable.toWeb(createReadStream(good)) as ReadableStream<Uint8Array>, {
      claimed: "qcow2",
    });
    assert.equal(fromWeb.safe, false);
    assert.ok(fromWeb.problems.some((p) => p.code === "format-mismatch"));
    assert.deepEqual(
      readdirSync(join(work, "diskpipe")).filter((f) => f.startsWith("inspect-")),
      [],
    );
  });

  it("stops reading a hostile stream of known size as soon as the verdict is in", async () => {
    let pulled = 0;
    // Paced like a (fast) network, 64 KiB per millisecond at most: the reader gets turns
    // between chunks even when the machine is busy (a setImmediate pace let a loaded CI
    // machine pull 9 MiB before the inspector's first file reads came back).
    async function* lazy() {
      for (const chunk of chunks(readFileSync(hostile))) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        pulled += chunk.length;
        yield chunk;
      }
    }
    const result = await inspectStream(lazy(), {}, { directory: work, size: statSync(hostile).size });
    assert.equal(result.safe, false);
    assert.ok(result.problems.some((p) => p.code === "qcow2-backing-file"));
    assert.ok(pulled < 4 * 1024 * 1024, `read ${pulled} bytes of a 64 MiB stream`);
  });

  it("inspects a URL from the CLI, downloading little of a hostile image", async () => {
    served = 0;
    const ok = await diskpipeAsync(["inspect", `${base}/a.vmdk`, "--json"]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).format, "vmdk");
    served = 0;
    const bad = await diskpipeAsync(["inspect", `${base}/evil.qcow2`, "--json"]);
    assert.equal(bad.status, 3);
    assert.ok(served < 16 * 1024 * 1024, `the server sent ${served} of 64 MiB`);
    const missing = await diskpipeAsync(["inspect", `${base}/nope.qcow2`]);
    assert.equal(missing.status, 1);
    assert.match(missing.stdout, /HTTP 404/);
  });
});

function* chunks(body: Buffer, size = 64 * 1024): Generator<Buffer> {
  for (let at = 0; at < body.length; at += size) yield body.subarray(at, at + size);
}
