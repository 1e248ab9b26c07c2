import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { appendFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPipeline } from "../../../src/mod.ts";
import { compressed } from "../../../src/plugins/index.ts";
import { TestServer } from "../../core/io/server.ts";
import { failure } from "../../helpers/failure.ts";
import { listDir, makeImage, sameDisk, tempDir } from "../../helpers/images.ts";
import { waitFor } from "../../helpers/wait.ts";
import { childrenOf, compress, corrupt, leftovers, missingTools } from "./helpers.ts";

const MiB = 1024 * 1024;

/**
 * A hostile server against a download decompressed as it arrives: it lies about the length,
 * changes the file under a resume, pads the stream, hides a footer after it. Each job must fail
 * with one stable code (or succeed with the right disk), leaving nothing behind. About 6 s.
 */
describe("attacks on a compressed download decompressed as it arrives", { skip: missingTools }, () => {
  const { dir, cleanup } = tempDir("diskpipe-arriving-attacks-");
  const served = join(dir, "served");
  const server = new TestServer();
  let raw = "";
  const config = (name: string, fetch: Record<string, number> = {}) => ({
    workDir: join(dir, `work-${name}`),
    fetch: { timeoutMs: 20_000, retries: 0, backoffMs: 10, ...fetch },
  });
  const nothingLeft = (name: string) => {
    assert.deepEqual(leftovers(join(dir, `work-${name}`)), []);
    assert.deepEqual(
      childrenOf(process.pid).filter((child) => ["xz", "zstd", "bzip2"].includes(child.name)),
      [],
    );
    assert.ok(!listDir(dir).some((entry) => entry.startsWith(`${name}.`)), `no output of ${name}`);
  };
  before(async () => {
    await server.start();
    mkdirSync(served);
    raw = join(served, "disk.raw");
    writeFileSync(raw, Buffer.concat([randomBytes(2 * MiB), Buffer.alloc(2 * MiB)]));
    const qcow2 = makeImage(raw, "qcow2", join(served, "disk.qcow2"));
    const other = join(served, "other.raw");
    writeFileSync(other, randomBytes(4 * MiB));
    const otherQcow2 = makeImage(other, "qcow2", join(served, "other.qcow2"));
    // A data bomb: 96 MiB of one non-zero byte in 3 KiB of zstd, then a 1 MiB skippable frame
    // (the bytes the inspector's head detectors read), announced as 64 MiB long.
    const ones = join(served, "ones.raw");
    writeFileSync(ones, Buffer.alloc(96 * MiB, 1));
    const bomb = compress(ones, "zst");
    writeFileSync(ones, "");
    const skippable = Buffer.alloc(8 + MiB);
    skippable.writeUInt32LE(0x184d2a50, 0);
    skippable.writeUInt32LE(MiB, 4);
    appendFileSync(bomb, skippable);
    server.routes.set("/bomb-unannounced.zst", {
      file: bomb,
      noLength: true,
      stall: "body",
      stallAfter: statSync(bomb).size,
    });
    server.routes.set("/bomb-lying.zst", {
      file: bomb,
      declaredLength: 64 * MiB,
      stall: "body",
      stallAfter: statSync(bomb).size,
    });
    const gz = compress(qcow2, "gz");
    const padded = join(served, "padded.gz");
    writeFileSync(padded, Buffer.concat([readFileSync(gz), Buffer.alloc(4 * MiB)]));
    server.routes.set("/padded.gz", { file: padded, stall: "body", stallAfter: statSync(gz).size + 64 * 1024 });
    server.routes.set("/replayed.gz", { file: gz, ignoreRange: true, dropAfter: MiB });
    server.routes.set("/changed.gz", {
      file: gz,
      fileAfterDrop: compress(otherQcow2, "gz"),
      ignoreRange: true,
      dropAfter: MiB,
    });
    // The same length and ETag, other bytes past the first MiB: the resume continues another file.
    const zst = compress(qcow2, "zst");
    server.routes.set("/mixed.zst", { file: zst, fileAfterDrop: corrupt(zst, `${zst}.other`), dropAfter: MiB });
    server.routes.set("/short-length.gz", { file: gz, declaredLength: statSync(gz).size - 4096 });
    // A gzip stream, zero padding, then a VHD footer: the end of the download is a VHD too.
    const vhd = makeImage(join(served, "disk.raw"), "vpc", join(served, "disk.vhd"), ["-o", "subformat=fixed"]);
    const footer = readFileSync(vhd).subarray(-512);
    const polyglot = join(served, "polyglot.gz");
    writeFileSync(polyglot, Buffer.concat([readFileSync(gz), Buffer.alloc(64 * 1024), footer]));
    server.routes.set("/polyglot.gz", { file: polyglot });
    server.routes.set("/disk.qcow2.gz", { file: gz });
    server.routes.set("/shared.gz", { file: gz });
    server.routes.set("/disk.raw.gz", { file: compress(raw, "gz") });
  });
  after(async () => {
    await server.stop();
    cleanup();
  });

  for (const name of ["bomb-lying", "bomb-unannounced"]) {
    it(`bounds the data by the compressed bytes read (${name}: ${name === "bomb-lying" ? "a Content-Length the server lies about" : "no Content-Length"})`, async () => {
      const error = await failure(
        // Data may be 64 MiB plus once the compressed bytes: 65 MiB read, or 128 MiB announced.
        createPipeline({ ...config(name), plugins: [compressed({ maxExpansion: 1 })] }).run({
          source: server.url(`/${name}.zst`),
          destination: join(dir, `${name}.raw`),
          to: "raw",
        }),
      );
      assert.equal(error.code, "image-rejected", error.message);
      assert.ok(
        error.problems.some((p) => p.code === "decompression-bomb"),
        error.message,
      );
      assert.match(error.message, /compressed bytes read so far/);
      nothingLeft(name);
    });
  }

  it(
    "ends at once when aborted while the unpack waits for the rest of the download",
    { timeout: 120_000 },
    async () => {
      const controller = new AbortController();
      const work = join(dir, "work-padded");
      // The server stalls for good and the idle timeout is ten minutes: only an abort that works ends the job.
      const running = createPipeline(config("padded", { timeoutMs: 600_000 })).run({
        source: server.url("/padded.gz"),
        destination: join(dir, "padded.qcow2"),
        to: "qcow2",
        signal: controller.signal,
      });
      running.catch(() => undefined);
      // The decompressed image is whole (gunzip stops at the padding) while the download stalls.
      const whole = statSync(join(served, "disk.qcow2")).size;
      const decompressed = () => {
        try {
          return readdirSync(work, { recursive: true, encoding: "utf8" }).some(
            (entry) => entry.includes("decompressed-") && statSync(join(work, entry)).size === whole,
          );
        } catch {
          return false;
        }
      };
      await waitFor(decompressed, "the image to be decompressed");
      controller.abort();
      const error = await failure(running);
      assert.equal(error.code, "aborted", error.message);
      nothingLeft("padded");
    },
  );

  it("takes a server that ignores the resume and sends the same bytes again (the decoder sees each once)", async () => {
    const out = join(dir, "replayed.qcow2");
    await createPipeline(config("replayed", { retries: 2 })).run({
      source: server.url("/replayed.gz"),
      destination: out,
      to: "qcow2",
    });
    assert.ok(server.requests("/replayed.gz").length >= 2);
    assert.ok(sameDisk(raw, "raw", out, "qcow2"));
    assert.deepEqual(leftovers(join(dir, "work-replayed")), []);
  });

  it("fails a server that sends other bytes when it ignores the resume", async () => {
    const error = await failure(
      createPipeline(config("changed", { retries: 2 })).run({
        source: server.url("/changed.gz"),
        destination: join(dir, "changed.qcow2"),
        to: "qcow2",
      }),
    );
    assert.equal(error.code, "fetch-failed", error.message);
    assert.match(error.message, /changed/);
    nothingLeft("changed");
  });

  it("converts nothing from a resume that continued another file (checksum or decoder)", async () => {
    const digest = createHash("sha256")
      .update(readFileSync(server.routes.get("/mixed.zst")?.file ?? ""))
      .digest("hex");
    for (const checksum of [`sha256:${digest}`, undefined]) {
      const name = checksum ? "mixed-sum" : "mixed";
      const error = await failure(
        createPipeline(config(name, { retries: 2 })).run({
          source: server.url("/mixed.zst"),
          destination: join(dir, `${name}.qcow2`),
          to: "qcow2",
          ...(checksum && { checksum }),
        }),
      );
      assert.ok(!/\n/.test(error.message), error.message);
      // The decoder may find the stream corrupt before the last byte is in and hashed.
      const codes = checksum ? ["checksum-mismatch", "image-rejected"] : ["image-rejected"];
      assert.ok(codes.includes(error.code), `${error.code}: ${error.message}`);
      nothingLeft(name);
    }
  });

  it("takes a Content-Length shorter than the body as the file's end: a cut stream", async () => {
    const error = await failure(
      createPipeline(config("short-length")).run({
        source: server.url("/short-length.gz"),
        destination: join(dir, "short-length.qcow2"),
        to: "qcow2",
      }),
    );
    assert.equal(error.code, "image-rejected", error.message);
    assert.ok(error.problems.some((p) => p.code === "truncated"));
    nothingLeft("short-length");
  });

  it("refuses a compressed head with a VHD footer at the end of the download", async () => {
    const error = await failure(
      createPipeline(config("polyglot")).run({
        source: server.url("/polyglot.gz"),
        destination: join(dir, "polyglot.qcow2"),
        to: "qcow2",
      }),
    );
    assert.equal(error.code, "image-rejected", error.message);
    assert.ok(
      error.problems.some((p) => p.code === "polyglot"),
      error.message,
    );
    nothingLeft("polyglot");
  });

  it("holds a claim to the content and a container claim to the stream", async () => {
    const wrongFormat = await failure(
      createPipeline(config("claim-vmdk")).run({
        source: server.url("/disk.qcow2.gz"),
        destination: join(dir, "claim-vmdk.raw"),
        to: "raw",
        from: "vmdk",
      }),
    );
    assert.equal(wrongFormat.code, "format-mismatch", wrongFormat.message);
    nothingLeft("claim-vmdk");
    const wrongKind = await failure(
      createPipeline(config("claim-xz")).run({
        source: server.url("/disk.qcow2.gz"),
        destination: join(dir, "claim-xz.raw"),
        to: "raw",
        container: "xz",
      }),
    );
    assert.equal(wrongKind.code, "image-rejected", wrongKind.message);
    assert.ok(wrongKind.problems.some((p) => p.code === "container-mismatch"));
    nothingLeft("claim-xz");
    const out = join(dir, "claim-qcow2.raw");
    await createPipeline(config("claim-qcow2")).run({
      source: server.url("/disk.qcow2.gz"),
      destination: out,
      to: "raw",
      from: "qcow2",
    });
    assert.ok(sameDisk(raw, "raw", out, "raw"));
  });

  it("converts a .raw.gz claimed raw to raw over HTTP (the download meant to stream into the output)", async () => {
    const out = join(dir, "raw-claim.raw");
    const result = await createPipeline(config("raw-claim")).run({
      source: server.url("/disk.raw.gz"),
      destination: out,
      to: "raw",
      from: "raw",
    });
    assert.equal(result.from, "raw");
    assert.ok(sameDisk(raw, "raw", out, "raw"));
    assert.deepEqual(leftovers(join(dir, "work-raw-claim")), []);
    assert.deepEqual(
      listDir(dir).filter((name) => name.includes("raw-claim")),
      ["raw-claim.raw", "work-raw-claim"],
    );
  });

  it("lets one job of a shared download fail early while the other completes", async () => {
    const pipeline = createPipeline(config("shared"));
    const out = join(dir, "shared-ok.raw");
    const [bad, good] = await Promise.allSettled([
      pipeline.run({
        source: server.url("/shared.gz"),
        destination: join(dir, "shared-bad.raw"),
        to: "raw",
        from: "vmdk",
      }),
      pipeline.run({ source: server.url("/shared.gz"), destination: out, to: "raw" }),
    ]);
    assert.equal(bad.status, "rejected");
    assert.equal(good.status, "fulfilled", good.status === "rejected" ? String(good.reason) : "");
    assert.ok(sameDisk(raw, "raw", out, "raw"));
    // One download served both jobs.
    assert.equal(server.requests("/shared.gz").length, 1);
    assert.deepEqual(leftovers(join(dir, "work-shared")), []);
  });
});
