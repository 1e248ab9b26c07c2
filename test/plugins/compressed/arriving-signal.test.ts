import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { TestServer } from "../../core/io/server.ts";
import { repoRoot } from "../../helpers/cli.ts";
import { listDir, makeImage, tempDir } from "../../helpers/images.ts";
import { waitFor } from "../../helpers/wait.ts";
import { compress, leftovers, missingTools } from "./helpers.ts";

const MiB = 1024 * 1024;

/**
 * SIGTERM to the built CLI once the decoder has made the whole image but the server stalls
 * before the last bytes of the download: the job ends at once (not at the 30 s idle timeout),
 * leaving no output and nothing in its TMPDIR. About 2 s.
 */
describe("a signal while a decompressed download waits for its last bytes", { skip: missingTools }, () => {
  const { dir, cleanup } = tempDir("diskpipe-arriving-signal-");
  const server = new TestServer();
  let whole = 0;
  before(async () => {
    await server.start();
    const served = join(dir, "served");
    mkdirSync(served);
    const raw = join(served, "disk.raw");
    writeFileSync(raw, Buffer.concat([randomBytes(MiB), Buffer.alloc(MiB)]));
    const qcow2 = makeImage(raw, "qcow2", join(served, "disk.qcow2"));
    whole = statSync(qcow2).size;
    // gunzip ends at the zero padding after the stream; the server stalls inside the padding.
    const gz = compress(qcow2, "gz");
    const padded = join(served, "padded.gz");
    writeFileSync(padded, Buffer.concat([readFileSync(gz), Buffer.alloc(2 * MiB)]));
    server.routes.set("/padded.gz", { file: padded, stall: "body", stallAfter: statSync(gz).size + 64 * 1024 });
  });
  after(async () => {
    await server.stop();
    cleanup();
  });

  it("SIGTERM ends the job at once, leaving no output and no temporary file", async () => {
    const tmp = join(dir, "tmp");
    mkdirSync(tmp);
    const child = spawn(
      process.execPath,
      [join(repoRoot, "bin", "diskpipe.mjs"), "convert", server.url("/padded.gz"), join(dir, "out.raw"), "--to", "raw"],
      { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, TMPDIR: tmp } },
    );
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const decompressed = () => {
      try {
        return readdirSync(tmp, { recursive: true, encoding: "utf8" }).some(
          (entry) => entry.includes("decompressed-") && statSync(join(tmp, entry)).size === whole,
        );
      } catch {
        return false;
      }
    };
    await waitFor(decompressed, () => `the image to be decompressed (stderr: ${stderr})`);
    const signalled = Date.now();
    child.kill("SIGTERM");
    assert.equal(await exited, 143, stderr);
    assert.ok(Date.now() - signalled < 10_000, `exited ${Date.now() - signalled} ms after SIGTERM`);
    assert.equal(stderr.split("\n").filter((line) => line.startsWith("diskpipe:")).length, 1, stderr);
    assert.ok(!listDir(dir).includes("out.raw"));
    assert.deepEqual(
      leftovers(tmp).filter((path) => !path.includes("/jiti/")),
      [],
    );
  });
});
