import assert from "node:assert/strict";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { UserConfig } from "../../../src/core/config.ts";
import { createPipeline } from "../../../src/create-pipeline.ts";
import { diskpipeAsync } from "../../helpers/cli.ts";
import { failure, MiB } from "../../helpers/failure.ts";
import { makeImage, makeRaw, qemuImg, tempDir } from "../../helpers/images.ts";
import { TestServer } from "./server.ts";

const GiB = 1024 * MiB;

describe("downloads are bounded (issue 16.2, 16.3)", () => {
  const { dir, cleanup } = tempDir();
  const work = join(dir, "work");
  const out = join(dir, "out");
  const server = new TestServer();
  let qcow2 = "";
  let hostile = "";
  const config = (extra: UserConfig = {}): UserConfig => ({
    workDir: work,
    fetch: { timeoutMs: 5000, retries: 3, backoffMs: 10 },
    ...extra,
  });
  const leftovers = () => [
    ...(existsSync(join(work, "diskpipe")) ? readdirSync(join(work, "diskpipe")) : []),
    ...readdirSync(out),
  ];

  before(async () => {
    mkdirSync(out);
    const raw = makeRaw(join(dir, "disk.raw"), 4 * MiB);
    qcow2 = makeImage(raw, "qcow2", join(dir, "disk.qcow2"));
    hostile = join(dir, "hostile.qcow2");
    qemuImg("create", "-f", "qcow2", "-b", qcow2, "-F", "qcow2", hostile);
    truncateSync(hostile, 8 * MiB);
    await server.start();
    server.routes.set("/chunked-hostile.qcow2", { file: hostile, noLength: true });
    server.routes.set("/chunked.qcow2", { file: qcow2, noLength: true });
    server.routes.set("/liar.raw", { generated: { cap: 2 * MiB }, declaredLength: 30 * GiB });
    server.routes.set("/endless.raw", { generated: { cap: 256 * MiB } });
    server.routes.set("/padded.qcow2", {
      file: qcow2,
      generated: { cap: 256 * MiB },
      declaredLength: statSize(qcow2) + 256 * MiB,
    });
    server.routes.set("/padded-chunked.qcow2", { file: qcow2, generated: { cap: 256 * MiB } });
    server.routes.set("/trickle.raw", { trickle: { intervalMs: 50, cap: 400 } });
    server.routes.set("/elsewhere.qcow2", { redirect: server.url("/chunked.qcow2").replace("127.0.0.1", "localhost") });
  });
  after(async () => {
    await server.stop();
    cleanup();
  });

  it("inspect URL without Content-Length: the verdict comes from the bytes, never 'raw, 0 B'", async () => {
    const hostileRun = await diskpipeAsync(["inspect", server.url("/chunked-hostile.qcow2"), "--json"]);
    assert.equal(hostileRun.status, 3, hostileRun.stdout + hostileRun.stderr);
    const report = JSON.parse(hostileRun.stdout);
    assert.equal(report.format, "qcow2");
    assert.ok(report.problems.some((p: { code: string }) => p.code === "qcow2-backing-file"));
    const good = await diskpipeAsync(["inspect", server.url("/chunked.qcow2"), "--json"]);
    assert.equal(good.status, 0, good.stdout + good.stderr);
    assert.equal(JSON.parse(good.stdout).virtualSize, 4 * MiB);
  });

  it("a Content-Length above --max-size refuses at once, without reading the body or retrying", async () => {
    const error = await failure(
      createPipeline(config()).run({
        source: server.url("/liar.raw"),
        destination: join(out, "liar.raw"),
        to: "raw",
        maxSize: 1 * GiB,
      }),
    );
    assert.equal(error.code, "image-rejected", error.message);
    assert.ok(
      error.problems.some((p) => p.code === "too-large"),
      JSON.stringify(error.problems),
    );
    assert.equal(server.requests("/liar.raw").length, 1, "retried");
    assert.deepEqual(leftovers(), []);
  });

  it("a body of unknown length is cut as soon as it passes --max-size", async () => {
    const error = await failure(
      createPipeline(config()).run({
        source: server.url("/endless.raw"),
        destination: join(out, "endless.raw"),
        to: "raw",
        maxSize: 8 * MiB,
      }),
    );
    assert.equal(error.code, "image-rejected", error.message);
    assert.ok(error.problems.some((p) => p.code === "too-large"));
    assert.ok(
      (server.sent.get("/endless.raw") ?? 0) < 64 * MiB,
      `the server sent ${server.sent.get("/endless.raw")} bytes`,
    );
    assert.deepEqual(leftovers(), []);
  });

  for (const route of ["/padded.qcow2", "/padded-chunked.qcow2"]) {
    it(`a body longer than its own header allows is cut (${route})`, async () => {
      const error = await failure(
        createPipeline(config()).run({ source: server.url(route), destination: join(out, "padded.raw"), to: "raw" }),
      );
      assert.equal(error.code, "image-rejected", error.message);
      assert.ok(
        error.problems.some((p) => p.code === "file-too-large"),
        JSON.stringify(error.problems),
      );
      assert.ok((server.sent.get(route) ?? 0) < 128 * MiB, `the server sent ${server.sent.get(route)} bytes`);
      assert.deepEqual(leftovers(), []);
    });
  }

  it("an overall deadline (fetch.deadlineMs) stops a download that trickles under the idle timeout", async () => {
    const started = Date.now();
    const error = await failure(
      createPipeline(config({ fetch: { timeoutMs: 5000, retries: 3, backoffMs: 10, deadlineMs: 1000 } })).run({
        source: server.url("/trickle.raw"),
        destination: join(out, "trickle.raw"),
        to: "raw",
      }),
    );
    assert.equal(error.code, "fetch-failed");
    assert.match(error.message, /deadline|did not finish within/);
    assert.ok(Date.now() - started < 10_000);
    assert.deepEqual(leftovers(), []);
  });

  it("refuses a redirect to another host by default, follows it when fetch.allowRedirects lists it", async () => {
    const refused = await failure(
      createPipeline(config()).run({
        source: server.url("/elsewhere.qcow2"),
        destination: join(out, "a.raw"),
        to: "raw",
      }),
    );
    assert.equal(refused.code, "fetch-failed");
    assert.match(refused.message, /redirect/);
    const allowed = await createPipeline(config({ fetch: { allowRedirects: ["localhost"] } })).run({
      source: server.url("/elsewhere.qcow2"),
      destination: join(out, "b.raw"),
      to: "raw",
    });
    assert.equal(allowed.virtualSize, 4 * MiB);
  });
});

function statSize(path: string): number {
  return statSync(path).size;
}

describe("a download that changes between requests is refused (issue 18)", () => {
  const { dir, cleanup } = tempDir();
  const server = new TestServer();
  let raw = "";
  before(async () => {
    raw = makeRaw(join(dir, "a.raw"), 4 * MiB);
    const other = join(dir, "b.raw");
    writeFileSync(other, readFileSync(raw));
    const fd = openSync(other, "r+");
    writeSync(fd, Buffer.from("changed"), 0, 7, 100);
    closeSync(fd);
    const longer = join(dir, "c.raw");
    writeFileSync(longer, Buffer.concat([readFileSync(raw), Buffer.alloc(512)]));
    await server.start();
    server.routes.set("/same-length.raw", {
      file: raw,
      dropAfter: 1 * MiB + 3,
      ignoreRange: true,
      fileAfterDrop: other,
    });
    server.routes.set("/other-length.raw", {
      file: raw,
      dropAfter: 1 * MiB + 3,
      ignoreRange: true,
      fileAfterDrop: longer,
    });
    server.routes.set("/shrunk.raw", {
      file: raw,
      noLength: true,
      dropAfter: 2 * MiB + 3,
      dropTimes: 100,
      resumeTotal: 1 * MiB,
    });
  });
  after(async () => {
    await server.stop();
    cleanup();
  });

  it("a resume that claims a total below what was already sent fails the job (the size cannot shrink)", async () => {
    const pipeline = createPipeline({
      workDir: join(dir, "work"),
      fetch: { timeoutMs: 5000, retries: 3, backoffMs: 10 },
    });
    const error = await failure(
      pipeline.run({ source: server.url("/shrunk.raw"), destination: join(dir, "shrunk.raw"), to: "raw" }),
    );
    assert.equal(error.code, "fetch-failed");
    assert.match(error.message, /Content-Range bytes \d+-\d+\/1048576/);
    const inspected = await diskpipeAsync(["inspect", server.url("/shrunk.raw")]);
    assert.equal(inspected.status, 1, inspected.stdout);
  });

  for (const route of ["/same-length.raw", "/other-length.raw"]) {
    it(`a restart that sends other bytes fails the job (${route})`, async () => {
      const pipeline = createPipeline({
        workDir: join(dir, "work"),
        fetch: { timeoutMs: 5000, retries: 3, backoffMs: 10 },
      });
      const error = await failure(
        pipeline.run({ source: server.url(route), destination: join(dir, "out.raw"), to: "raw" }),
      );
      assert.equal(error.code, "fetch-failed");
      assert.match(error.message, /changed while it was being downloaded/);
      assert.equal(existsSync(join(dir, "out.raw")), false);
    });
  }
});
