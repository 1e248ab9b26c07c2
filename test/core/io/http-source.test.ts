import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fetchCache } from "../../../src/core/io/fetch-cache.ts";
import type { JobEvent } from "../../../src/core/job.ts";
import { createPipeline } from "../../../src/create-pipeline.ts";
import { failure, MiB } from "../../helpers/failure.ts";
import { sameDisk } from "../../helpers/images.ts";
import { sha, useHttpSourceFixture } from "./http-source-fixture.ts";

describe("http source", () => {
  const { out, server, images, config, leftovers } = useHttpSourceFixture();

  it("fetches, hashes in the same pass, reports progress and converts", async () => {
    const pipeline = createPipeline(config());
    const events: JobEvent[] = [];
    pipeline.on((e) => events.push(e));
    const destination = join(out, "fetched.raw");
    const result = await pipeline.run({ source: server.url("/disk.qcow2"), destination, to: "raw" });
    assert.equal(result.from, "qcow2");
    assert.equal(result.sourceHash, `sha256:${sha(images.qcow2)}`);
    assert.ok(sameDisk(images.raw, "raw", destination, "raw"));
    const progress = events.filter((e) => e.type === "progress" && e.stage === "fetch");
    assert.ok(progress.length > 0, "no fetch progress events");
    assert.deepEqual(leftovers(), []);
    assert.equal(fetchCache.size, 0);
  });

  it("accepts a right checksum (sha256 and sha512) and refuses a wrong one with exit 3, leaving nothing", async () => {
    const pipeline = createPipeline(config());
    const ok = await pipeline.run({
      source: server.url("/disk.qcow2"),
      destination: join(out, "sum.qcow2"),
      to: "qcow2",
      checksum: `sha512:${sha(images.qcow2, "sha512")}`,
    });
    assert.equal(ok.sourceHash, `sha512:${sha(images.qcow2, "sha512")}`);
    const wrong = await failure(
      pipeline.run({
        source: server.url("/disk.qcow2"),
        destination: join(out, "bad.qcow2"),
        to: "qcow2",
        checksum: `sha256:${"0".repeat(64)}`,
      }),
    );
    assert.equal(wrong.code, "checksum-mismatch");
    assert.equal(wrong.exitCode, 3);
    assert.ok(!existsSync(join(out, "bad.qcow2")));
    assert.deepEqual(leftovers(), []);
  });

  it("reports 404 and 500 as fetch-failed with the status, leaving nothing", async () => {
    const pipeline = createPipeline(config({ fetch: { timeoutMs: 5000, retries: 1, backoffMs: 5 } }));
    const missing = await failure(
      pipeline.run({ source: server.url("/nope.qcow2"), destination: join(out, "nope.raw"), to: "raw" }),
    );
    assert.equal(missing.code, "fetch-failed");
    assert.equal(missing.exitCode, 1);
    assert.match(missing.message, /HTTP 404/);
    assert.equal(server.requests("/nope.qcow2").length, 1, "a 404 is not retried");
    const broken = await failure(
      pipeline.run({ source: server.url("/broken.raw"), destination: join(out, "broken.raw"), to: "raw" }),
    );
    assert.match(broken.message, /HTTP 500/);
    assert.equal(server.requests("/broken.raw").length, 2, "a 500 is retried fetch.retries times");
    assert.deepEqual(leftovers(), []);
  });

  it("times out on a server that stalls, before the headers or mid-body", async () => {
    const pipeline = createPipeline(config({ fetch: { timeoutMs: 300, retries: 0, backoffMs: 5 } }));
    for (const path of ["/stall-headers.raw", "/stall-body.raw"]) {
      const t0 = performance.now();
      const error = await failure(
        pipeline.run({ source: server.url(path), destination: join(out, "stalled.raw"), to: "raw" }),
      );
      const ms = performance.now() - t0;
      assert.equal(error.code, "fetch-failed");
      assert.match(error.message, /no data for 300 ms/);
      assert.ok(ms < 3000, `took ${ms} ms`);
    }
    assert.deepEqual(leftovers(), []);
  });

  it("aborts the download of a images.hostile image as soon as the inspector rejects it", async () => {
    const pipeline = createPipeline(config());
    const error = await failure(
      pipeline.run({ source: server.url("/hostile.qcow2"), destination: join(out, "hostile.raw"), to: "raw" }),
    );
    assert.equal(error.code, "image-rejected");
    assert.equal(error.exitCode, 3);
    assert.ok(error.problems.some((p) => p.code === "qcow2-backing-file"));
    const sent = server.sent.get("/hostile.qcow2") ?? 0;
    assert.ok(sent < 32 * MiB, `the server sent ${sent} bytes of ${256 * MiB}`);
    assert.deepEqual(leftovers(), []);
  });

  it("reads a download without Content-Length: tail detectors wait for its end", async () => {
    const pipeline = createPipeline(config());
    const result = await pipeline.run({
      source: server.url("/chunked.vhd"),
      destination: join(out, "chunked.qcow2"),
      to: "qcow2",
      from: "vhd",
    });
    assert.equal(result.from, "vhd");
    assert.equal(result.sourceHash, `sha256:${sha(images.vhd)}`);
    assert.ok(sameDisk(images.raw, "raw", join(out, "chunked.qcow2"), "qcow2"));
  });

  it("follows redirects", async () => {
    const pipeline = createPipeline(config());
    const result = await pipeline.run({
      source: server.url("/moved.qcow2"),
      destination: join(out, "moved.qcow2"),
      to: "qcow2",
    });
    assert.equal(result.sourceHash, `sha256:${sha(images.qcow2)}`);
  });

  it("keeps a shared download going for the jobs that still want it when one refuses the image", async () => {
    server.routes.set("/claims.qcow2", { file: images.qcow2 });
    const pipeline = createPipeline(config({ jobs: 2 }));
    const specs = [
      { source: server.url("/claims.qcow2"), destination: join(out, "claims-a.raw"), to: "raw", from: "vmdk" },
      { source: server.url("/claims.qcow2"), destination: join(out, "claims-b.raw"), to: "raw", from: "qcow2" },
    ];
    const codes: Array<string | undefined> = [];
    for await (const item of pipeline.batch(specs)) codes.push(`${item.spec.from}:${item.error?.code ?? "ok"}`);
    assert.deepEqual(codes.sort(), ["qcow2:ok", "vmdk:format-mismatch"]);
    assert.equal(server.requests("/claims.qcow2").length, 1);
    assert.ok(sameDisk(images.raw, "raw", join(out, "claims-b.raw"), "raw"));
    assert.deepEqual(leftovers(), []);
  });

  it("an aborted job stops its download and removes the partial file", async () => {
    const pipeline = createPipeline(config({ throttle: { bytesPerSecond: 1024 * 1024, method: "none" } }));
    const controller = new AbortController();
    pipeline.on((e) => {
      if (e.type === "progress" && e.stage === "fetch" && e.bytes > 256 * 1024) controller.abort(new Error("stop"));
    });
    const t0 = performance.now();
    const error = await failure(
      pipeline.run({
        source: server.url("/disk.raw"),
        destination: join(out, "aborted.raw"),
        to: "raw",
        signal: controller.signal,
      }),
    );
    assert.ok(performance.now() - t0 < 3000, "the 6 MiB download at 1 MiB/s ran to its end");
    assert.ok(["aborted", "io-failed"].includes(error.code), error.code);
    assert.ok(!existsSync(join(out, "aborted.raw")));
    assert.deepEqual(leftovers(), []);
  });

  for (const jobs of [1, 2]) {
    it(`fetches the same URL once for a whole batch (jobs: ${jobs})`, async () => {
      const path = `/shared-${jobs}.raw`;
      server.routes.set(path, { file: images.raw });
      const pipeline = createPipeline(config({ jobs }));
      const specs = ["qcow2", "vmdk", "raw"].map((to) => ({
        source: server.url(path),
        destination: join(out, `shared-${jobs}.${to}`),
        to,
      }));
      const items = [];
      for await (const item of pipeline.batch(specs)) items.push(item);
      assert.deepEqual(
        items.map((i) => i.error?.message),
        [undefined, undefined, undefined],
      );
      assert.equal(server.requests(path).length, 1);
      assert.equal(fetchCache.size, 0, "the batch let go of its temporary images");
      assert.deepEqual(leftovers(), []);
    });
  }
});
