import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { appendFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPipeline } from "../../../src/mod.ts";
import { TestServer } from "../../core/io/server.ts";
import { failure } from "../../helpers/failure.ts";
import { listDir, makeImage, sameDisk, tempDir } from "../../helpers/images.ts";
import { repoRoot } from "../../helpers/cli.ts";
import { waitFor } from "../../helpers/wait.ts";
import { alive, childrenOf, compress, leftovers, missingTools } from "./helpers.ts";

const MiB = 1024 * 1024;
const STALL_AT = 2 * MiB;

/** A download is decompressed and inspected while it arrives: one pass, no waiting for the end. */
describe("compressed images decompressed as they download", { skip: missingTools }, () => {
  const { dir, cleanup } = tempDir("diskpipe-compressed-arriving-");
  const server = new TestServer();
  let raw = "";
  let evilSize = 0;
  const config = (name: string, fetch: Record<string, number> = {}) => ({
    workDir: join(dir, `work-${name}`),
    fetch: { timeoutMs: 30_000, retries: 0, backoffMs: 10, ...fetch },
  });
  before(async () => {
    await server.start();
    // 2 MiB of noise, then 6 MiB of zeroes: its compressed forms are about 2 MiB long.
    raw = join(dir, "disk.raw");
    writeFileSync(raw, Buffer.concat([randomBytes(2 * MiB), Buffer.alloc(6 * MiB)]));
    const qcow2 = makeImage(raw, "qcow2", join(dir, "disk.qcow2"));
    server.routes.set("/disk.xz", { file: compress(qcow2, "xz"), noLength: true });
    server.routes.set("/disk.zst", { file: compress(qcow2, "zst"), dropAfter: 64 * 1024, dropTimes: 2 });
    server.routes.set("/cut.zst", { file: compress(qcow2, "zst"), dropAfter: 64 * 1024, dropTimes: 99 });
    // A qcow2 with a backing file, followed by 32 MiB of noise: its header is in the first
    // compressed MiB, and the server sends 2 MiB, then nothing.
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", join(dir, "base.raw"), "1M"]);
    const evil = join(dir, "evil.qcow2");
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", "-b", join(dir, "base.raw"), "-F", "qcow2", evil, "256M"]);
    appendFileSync(evil, randomBytes(32 * MiB));
    writeFileSync(join(dir, "noise.raw"), randomBytes(16 * MiB));
    server.routes.set("/stalled.zst", {
      file: compress(join(dir, "noise.raw"), "zst"),
      stall: "body",
      stallAfter: MiB,
    });
    for (const kind of ["gz", "zst"] as const) {
      const file = compress(evil, kind);
      evilSize = statSync(file).size;
      server.routes.set(`/evil.${kind}`, { file, stall: "body", stallAfter: STALL_AT });
    }
  });
  after(async () => {
    await server.stop();
    cleanup();
  });

  for (const [kind, container] of [
    ["gz", undefined],
    ["zst", undefined],
    ["zst", "zst"],
  ] as const) {
    it(`refuses a ${kind} holding a qcow2 with a backing file from its first MiBs${container ? ", claimed" : ""}`, async () => {
      const name = `evil-${kind}-${container ?? "detected"}`;
      const before = server.sent.get(`/evil.${kind}`) ?? 0;
      const error = await failure(
        createPipeline(config(name)).run({
          source: server.url(`/evil.${kind}`),
          destination: join(dir, `${name}.raw`),
          to: "raw",
          ...(container && { container }),
        }),
      );
      assert.equal(error.code, "image-rejected", error.message);
      assert.ok(
        error.problems.some((p) => p.code === "qcow2-backing-file"),
        error.message,
      );
      // The server never sent more than its first 2 MiB of the file: the verdict came from them.
      assert.ok((server.sent.get(`/evil.${kind}`) ?? 0) - before <= STALL_AT);
      assert.ok(evilSize > 8 * STALL_AT);
      assert.deepEqual(leftovers(join(dir, `work-${name}`)), []);
      assert.ok(!listDir(dir).includes(`${name}.raw`));
    });
  }

  it("decompresses a download of unannounced length, its checksum over the compressed bytes", async () => {
    const digest = createHash("sha256")
      .update(readFileSync(server.routes.get("/disk.xz")?.file ?? ""))
      .digest("hex");
    const out = join(dir, "chunked.qcow2");
    const result = await createPipeline(config("chunked")).run({
      source: server.url("/disk.xz"),
      destination: out,
      to: "qcow2",
      checksum: `sha256:${digest}`,
    });
    assert.equal(result.sourceHash, `sha256:${digest}`);
    assert.ok(sameDisk(raw, "raw", out, "qcow2"));
    assert.deepEqual(leftovers(join(dir, "work-chunked")), []);
  });

  it("fails a wrong checksum once every byte is in, leaving nothing", async () => {
    const out = join(dir, "wrong-sum.qcow2");
    const error = await failure(
      createPipeline(config("wrong-sum")).run({
        source: server.url("/disk.xz"),
        destination: out,
        to: "qcow2",
        checksum: `sha256:${"0".repeat(64)}`,
      }),
    );
    assert.equal(error.code, "checksum-mismatch", error.message);
    assert.deepEqual(leftovers(join(dir, "work-wrong-sum")), []);
    assert.ok(!listDir(dir).includes("wrong-sum.qcow2"));
  });

  it("resumes a dropped download under the decoder", async () => {
    const out = join(dir, "resumed.raw");
    const result = await createPipeline(config("resumed", { retries: 3 })).run({
      source: server.url("/disk.zst"),
      destination: out,
      to: "raw",
    });
    assert.equal(result.from, "qcow2");
    assert.ok(server.requests("/disk.zst").some((seen) => seen.range !== undefined));
    assert.ok(sameDisk(raw, "raw", out, "raw"));
  });

  it("reports a download that fails for good as fetch-failed, not as a cut stream", async () => {
    const error = await failure(
      createPipeline(config("cut")).run({
        source: server.url("/cut.zst"),
        destination: join(dir, "cut.qcow2"),
        to: "qcow2",
      }),
    );
    assert.equal(error.code, "fetch-failed", error.message);
    assert.deepEqual(leftovers(join(dir, "work-cut")), []);
    assert.ok(!listDir(dir).includes("cut.qcow2"));
  });

  it("SIGTERM to the CLI while a download is decompressed leaves no decoder, no output, no temporary file", async () => {
    const tmp = join(dir, "sigterm-tmp");
    mkdirSync(tmp);
    const child = spawn(
      process.execPath,
      [
        join(repoRoot, "bin", "diskpipe.mjs"),
        "convert",
        server.url("/stalled.zst"),
        join(dir, "sigterm.raw"),
        "--to",
        "raw",
      ],
      { stdio: "ignore", env: { ...process.env, TMPDIR: tmp } },
    );
    const cliPid = child.pid ?? 0;
    const decoder = await waitFor(
      () => childrenOf(cliPid).find((c) => c.name === "zstd"),
      "zstd to start under the CLI",
    );
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    assert.notEqual(await exited, 0);
    await waitFor(() => !alive(decoder.pid), "the decoder to end", 5000);
    assert.ok(!listDir(dir).includes("sigterm.raw"));
    // The CLI's own TMPDIR also holds jiti's cache of the compiled configuration: not the job's.
    assert.deepEqual(
      leftovers(tmp).filter((path) => !path.includes("/jiti/")),
      [],
    );
  });
});
