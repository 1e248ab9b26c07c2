import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, truncateSync, writeSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { UserConfig } from "../../../src/core/config.ts";
import { fetchCache } from "../../../src/core/io/fetch-cache.ts";
import type { JobEvent } from "../../../src/core/job.ts";
import { createPipeline } from "../../../src/create-pipeline.ts";
import { definePlugin } from "../../../src/core/plugin.ts";
import { failure, MiB } from "../../helpers/failure.ts";
import { makeImage, makeRaw, qemuImg, sameDisk, tempDir } from "../../helpers/images.ts";
import { TestServer } from "./server.ts";

function sha(path: string, algorithm = "sha256"): string {
  return createHash(algorithm).update(readFileSync(path)).digest("hex");
}

describe("http source", () => {
  const { dir, cleanup } = tempDir();
  const work = join(dir, "work");
  const out = join(dir, "out");
  const server = new TestServer();
  let raw = "";
  let qcow2 = "";
  let hostile = "";
  let vhd = "";
  const config = (extra: UserConfig = {}): UserConfig => ({ workDir: work, fetch: { timeoutMs: 5000, retries: 3, backoffMs: 10 }, ...extra });
  const leftovers = () => [
    ...(existsSync(join(work, "diskpipe")) ? readdirSync(join(work, "diskpipe")) : []),
    ...readdirSync(out).filter((name) => name.startsWith(".")),
  ];

  before(async () => {
    mkdirSync(out);
    raw = makeRaw(join(dir, "disk.raw"), 6 * MiB);
    for (let at = 0; at < 6 * MiB; at += 512 * 1024) makeRawChunk(raw, at);
    qcow2 = makeImage(raw, "qcow2", join(dir, "disk.qcow2"));
    vhd = makeImage(raw, "vpc", join(dir, "disk.vhd"), ["-o", "subformat=fixed,force_size=on"]);
    const base = makeImage(raw, "qcow2", join(dir, "base.qcow2"));
    hostile = join(dir, "hostile.qcow2");
    qemuImg("create", "-f", "qcow2", "-b", base, "-F", "qcow2", hostile);
    truncateSync(hostile, 256 * MiB);
    await server.start();
    server.routes.set("/disk.qcow2", { file: qcow2 });
    server.routes.set("/disk.raw", { file: raw });
    server.routes.set("/drop.raw", { file: raw, dropAfter: 1 * MiB + 17 });
    server.routes.set("/norange.raw", { file: raw, dropAfter: 2 * MiB + 5, ignoreRange: true });
    server.routes.set("/norange-direct.raw", { file: raw, dropAfter: 2 * MiB + 5, ignoreRange: true });
    server.routes.set("/flaky.raw", { file: raw, dropAfter: 300 * 1024, dropTimes: 100 });
    server.routes.set("/stall-body.raw", { file: raw, stall: "body" });
    server.routes.set("/stall-headers.raw", { file: raw, stall: "headers" });
    server.routes.set("/hostile.qcow2", { file: hostile });
    server.routes.set("/chunked.vhd", { file: vhd, noLength: true });
    server.routes.set("/moved.qcow2", { redirect: "/disk.qcow2" });
    server.routes.set("/broken.raw", { status: 500 });
  });
  after(async () => {
    await server.stop();
    cleanup();
  });

  it("fetches, hashes in the same pass, reports progress and converts", async () => {
    const pipeline = createPipeline(config());
    const events: JobEvent[] = [];
    pipeline.on((e) => events.push(e));
    const destination = join(out, "fetched.raw");
    const result = await pipeline.run({ source: server.url("/disk.qcow2"), destination, to: "raw" });
    assert.equal(result.from, "qcow2");
    assert.equal(result.sourceHash, `sha256:${sha(qcow2)}`);
    assert.ok(sameDisk(raw, "raw", destination, "raw"));
    const progress = events.filter((e) => e.type === "progress" && e.stage === "fetch");
    assert.ok(progress.length > 0, "no fetch progress events");
    assert.deepEqual(leftovers(), []);
    assert.equal(fetchCache.size, 0);
  });

  it("accepts a right checksum (sha256 and sha512) and refuses a wrong one with exit 3, leaving nothing", async () => {
    const pipeline = createPipeline(config());
    const ok = await pipeline.run({ source: server.url("/disk.qcow2"), destination: join(out, "sum.qcow2"), to: "qcow2", checksum: `sha512:${sha(qcow2, "sha512")}` });
    assert.equal(ok.sourceHash, `sha512:${sha(qcow2, "sha512")}`);
    const wrong = await failure(pipeline.run({ source: server.url("/disk.qcow2"), destination: join(out, "bad.qcow2"), to: "qcow2", checksum: `sha256:${"0".repeat(64)}` }));
    assert.equal(wrong.code, "checksum-mismatch");
    assert.equal(wrong.exitCode, 3);
    assert.ok(!existsSync(join(out, "bad.qcow2")));
    assert.deepEqual(leftovers(), []);
  });

  it("resumes a dropped connection with a Range request and keeps the hash right", async () => {
    const pipeline = createPipeline(config());
    const before = server.requests("/drop.raw").length;
    const result = await pipeline.run({ source: server.url("/drop.raw"), destination: join(out, "resumed.raw"), to: "raw", checksum: `sha256:${sha(raw)}` });
    const seen = server.requests("/drop.raw").slice(before);
    assert.equal(seen.length, 2);
    assert.equal(seen[0].range, undefined);
    assert.equal(seen[1].range, `bytes=${1 * MiB + 17}-`);
    assert.equal(seen[1].ifRange, '"v1"');
    assert.equal(result.sourceHash, `sha256:${sha(raw)}`);
    assert.ok(result.warnings.some((w) => /interrupted at/.test(w)), result.warnings.join("; "));
    assert.ok(sameDisk(raw, "raw", join(out, "resumed.raw"), "raw"));
    assert.deepEqual(leftovers(), []);
  });

  it("reads again from the start, with a fresh hash, when the server ignores Range", async () => {
    const pipeline = createPipeline(config());
    const result = await pipeline.run({ source: server.url("/norange.raw"), destination: join(out, "restarted.raw"), to: "raw" });
    assert.equal(server.requests("/norange.raw").length, 2);
    assert.equal(result.sourceHash, `sha256:${sha(raw)}`);
    assert.ok(result.warnings.some((w) => /ignored the Range request/.test(w)), result.warnings.join("; "));
    assert.ok(sameDisk(raw, "raw", join(out, "restarted.raw"), "raw"));
  });

  describe("raw claimed raw, converted to raw: straight into the destination", () => {
    const engineOf = () => {
      const seen: string[] = [];
      const plugin = definePlugin({ name: "engine", enforce: "post", hooks: { preConvert: (plan) => void seen.push(plan.engine) } });
      return { seen, plugin };
    };

    it("writes the download into the output, sparse, with no temporary copy and no second pass", async () => {
      const { seen, plugin } = engineOf();
      const pipeline = createPipeline(config({ plugins: [plugin] }));
      const destination = join(out, "direct.raw");
      const result = await pipeline.run({ source: server.url("/disk.raw"), destination, to: "raw", from: "raw", checksum: `sha256:${sha(raw)}` });
      assert.deepEqual(seen, ["done"], "the output was written again after the download");
      assert.equal(result.sourceHash, `sha256:${sha(raw)}`);
      assert.ok(readFileSync(destination).equals(readFileSync(raw)));
      const { size, blocks } = statSync(destination);
      assert.ok(blocks * 512 < size / 2, `not sparse: ${blocks * 512} bytes allocated of ${size}`);
      assert.deepEqual(leftovers(), []);
    });

    it("compares a restarted download with the sparse bytes already written", async () => {
      const destination = join(out, "direct-restarted.raw");
      const result = await createPipeline(config()).run({ source: server.url("/norange-direct.raw"), destination, to: "raw", from: "raw" });
      assert.equal(result.sourceHash, `sha256:${sha(raw)}`);
      assert.ok(result.warnings.some((w) => /ignored the Range request/.test(w)), result.warnings.join("; "));
      assert.ok(readFileSync(destination).equals(readFileSync(raw)));
    });

    it("refuses a qcow2 claimed raw, and a wrong checksum, leaving no destination and no temporary file", async () => {
      const pipeline = createPipeline(config());
      const mismatch = await failure(pipeline.run({ source: server.url("/disk.qcow2"), destination: join(out, "claimed.raw"), to: "raw", from: "raw" }));
      assert.equal(mismatch.code, "format-mismatch");
      assert.equal(mismatch.exitCode, 3);
      const wrong = await failure(pipeline.run({ source: server.url("/disk.raw"), destination: join(out, "wrongsum.raw"), to: "raw", from: "raw", checksum: `sha256:${"0".repeat(64)}` }));
      assert.equal(wrong.code, "checksum-mismatch");
      assert.ok(!existsSync(join(out, "claimed.raw")) && !existsSync(join(out, "wrongsum.raw")));
      assert.deepEqual(leftovers(), []);
    });
  });

  it("gives up after fetch.retries attempts without progress… and counts progress as a fresh start", async () => {
    const pipeline = createPipeline(config({ fetch: { timeoutMs: 5000, retries: 2, backoffMs: 5 } }));
    const before = server.requests("/flaky.raw").length;
    const result = await pipeline.run({ source: server.url("/flaky.raw"), destination: join(out, "flaky.raw"), to: "raw" });
    assert.equal(server.requests("/flaky.raw").length - before, Math.ceil((6 * MiB) / (300 * 1024)));
    assert.equal(result.sourceHash, `sha256:${sha(raw)}`);
    server.routes.set("/flaky-nothing.raw", { file: raw, dropAfter: 0, dropTimes: 100 });
    const error = await failure(pipeline.run({ source: server.url("/flaky-nothing.raw"), destination: join(out, "never.raw"), to: "raw" }));
    assert.equal(error.code, "fetch-failed");
    assert.equal(server.requests("/flaky-nothing.raw").length, 3);
    assert.match(error.message, /after 3 attempts/);
    assert.deepEqual(leftovers(), []);
  });

  it("reports 404 and 500 as fetch-failed with the status, leaving nothing", async () => {
    const pipeline = createPipeline(config({ fetch: { timeoutMs: 5000, retries: 1, backoffMs: 5 } }));
    const missing = await failure(pipeline.run({ source: server.url("/nope.qcow2"), destination: join(out, "nope.raw"), to: "raw" }));
    assert.equal(missing.code, "fetch-failed");
    assert.equal(missing.exitCode, 1);
    assert.match(missing.message, /HTTP 404/);
    assert.equal(server.requests("/nope.qcow2").length, 1, "a 404 is not retried");
    const broken = await failure(pipeline.run({ source: server.url("/broken.raw"), destination: join(out, "broken.raw"), to: "raw" }));
    assert.match(broken.message, /HTTP 500/);
    assert.equal(server.requests("/broken.raw").length, 2, "a 500 is retried fetch.retries times");
    assert.deepEqual(leftovers(), []);
  });

  it("times out on a server that stalls, before the headers or mid-body", async () => {
    const pipeline = createPipeline(config({ fetch: { timeoutMs: 300, retries: 0, backoffMs: 5 } }));
    for (const path of ["/stall-headers.raw", "/stall-body.raw"]) {
      const t0 = performance.now();
      const error = await failure(pipeline.run({ source: server.url(path), destination: join(out, "stalled.raw"), to: "raw" }));
      const ms = performance.now() - t0;
      assert.equal(error.code, "fetch-failed");
      assert.match(error.message, /no data for 300 ms/);
      assert.ok(ms < 3000, `took ${ms} ms`);
    }
    assert.deepEqual(leftovers(), []);
  });

  it("aborts the download of a hostile image as soon as the inspector rejects it", async () => {
    const pipeline = createPipeline(config());
    const error = await failure(pipeline.run({ source: server.url("/hostile.qcow2"), destination: join(out, "hostile.raw"), to: "raw" }));
    assert.equal(error.code, "image-rejected");
    assert.equal(error.exitCode, 3);
    assert.ok(error.problems.some((p) => p.code === "qcow2-backing-file"));
    const sent = server.sent.get("/hostile.qcow2") ?? 0;
    assert.ok(sent < 32 * MiB, `the server sent ${sent} bytes of ${256 * MiB}`);
    assert.deepEqual(leftovers(), []);
  });

  it("reads a download without Content-Length: tail detectors wait for its end", async () => {
    const pipeline = createPipeline(config());
    const result = await pipeline.run({ source: server.url("/chunked.vhd"), destination: join(out, "chunked.qcow2"), to: "qcow2", from: "vhd" });
    assert.equal(result.from, "vhd");
    assert.equal(result.sourceHash, `sha256:${sha(vhd)}`);
    assert.ok(sameDisk(raw, "raw", join(out, "chunked.qcow2"), "qcow2"));
  });

  it("follows redirects", async () => {
    const pipeline = createPipeline(config());
    const result = await pipeline.run({ source: server.url("/moved.qcow2"), destination: join(out, "moved.qcow2"), to: "qcow2" });
    assert.equal(result.sourceHash, `sha256:${sha(qcow2)}`);
  });

  it("keeps a shared download going for the jobs that still want it when one refuses the image", async () => {
    server.routes.set("/claims.qcow2", { file: qcow2 });
    const pipeline = createPipeline(config({ jobs: 2 }));
    const specs = [
      { source: server.url("/claims.qcow2"), destination: join(out, "claims-a.raw"), to: "raw", from: "vmdk" },
      { source: server.url("/claims.qcow2"), destination: join(out, "claims-b.raw"), to: "raw", from: "qcow2" },
    ];
    const codes: Array<string | undefined> = [];
    for await (const item of pipeline.batch(specs)) codes.push(`${item.spec.from}:${item.error?.code ?? "ok"}`);
    assert.deepEqual(codes.sort(), ["qcow2:ok", "vmdk:format-mismatch"]);
    assert.equal(server.requests("/claims.qcow2").length, 1);
    assert.ok(sameDisk(raw, "raw", join(out, "claims-b.raw"), "raw"));
    assert.deepEqual(leftovers(), []);
  });

  it("an aborted job stops its download and removes the partial file", async () => {
    const pipeline = createPipeline(config({ throttle: { bytesPerSecond: 1024 * 1024, method: "none" } }));
    const controller = new AbortController();
    pipeline.on((e) => {
      if (e.type === "progress" && e.stage === "fetch" && e.bytes > 256 * 1024) controller.abort(new Error("stop"));
    });
    const t0 = performance.now();
    const error = await failure(pipeline.run({ source: server.url("/disk.raw"), destination: join(out, "aborted.raw"), to: "raw", signal: controller.signal }));
    assert.ok(performance.now() - t0 < 3000, "the 6 MiB download at 1 MiB/s ran to its end");
    assert.ok(["aborted", "io-failed"].includes(error.code), error.code);
    assert.ok(!existsSync(join(out, "aborted.raw")));
    assert.deepEqual(leftovers(), []);
  });

  for (const jobs of [1, 2]) {
    it(`fetches the same URL once for a whole batch (jobs: ${jobs})`, async () => {
      const path = `/shared-${jobs}.raw`;
      server.routes.set(path, { file: raw });
      const pipeline = createPipeline(config({ jobs }));
      const specs = ["qcow2", "vmdk", "raw"].map((to) => ({ source: server.url(path), destination: join(out, `shared-${jobs}.${to}`), to }));
      const items = [];
      for await (const item of pipeline.batch(specs)) items.push(item);
      assert.deepEqual(items.map((i) => i.error?.message), [undefined, undefined, undefined]);
      assert.equal(server.requests(path).length, 1);
      assert.equal(fetchCache.size, 0, "the batch let go of its temporary images");
      assert.deepEqual(leftovers(), []);
    });
  }
});

function makeRawChunk(path: string, at: number): void {
  const fd = openSync(path, "r+");
  try {
    writeSync(fd, Buffer.alloc(4096, (at / 4096) & 0xff || 1), 0, 4096, at);
  } finally {
    closeSync(fd);
  }
}
