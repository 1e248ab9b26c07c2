import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { TestServer } from "../../core/io/server.ts";
import { repoRoot } from "../../helpers/cli.ts";
import { listDir, makeImage, tempDir } from "../../helpers/images.ts";
import { waitFor } from "../../helpers/wait.ts";
import { alive, childrenOf, compress, leftovers, missingTools } from "./helpers.ts";

const MiB = 1024 * 1024;

/**
 * SIGTERM to the built CLI once the decoder has made the whole image but the server stalls
 * before the last bytes of the download: the job ends at once (not at the 30 s idle timeout),
 * leaving no output and nothing in its TMPDIR; SIGKILL leaves no decoder, and the next run
 * sweeps what the killed one left. About 10 s (two CLI starts each).
 */
describe("a signal while a decompressed download waits for its last bytes", { skip: missingTools }, () => {
  const { dir, cleanup } = tempDir("diskpipe-arriving-signal-");
  const server = new TestServer();
  let whole = 0;
  let small = "";
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
    // 8 MiB of noise whose server stalls after 1 MiB: zstd waits for bytes not yet downloaded.
    writeFileSync(join(served, "noise.raw"), randomBytes(8 * MiB));
    server.routes.set("/stalled.zst", {
      file: compress(join(served, "noise.raw"), "zst"),
      stall: "body",
      stallAfter: MiB,
    });
    small = join(served, "small.raw");
    writeFileSync(small, randomBytes(64 * 1024));
  });
  after(async () => {
    await server.stop();
    cleanup();
  });

  it("SIGTERM ends the job at once, leaving no output and no temporary file", { timeout: 120_000 }, async () => {
    const tmp = join(dir, "tmp");
    mkdirSync(tmp);
    // The server stalls for good and the idle timeout is ten minutes: only a SIGTERM that works ends the job.
    const patient = join(dir, "patient.config.mjs");
    writeFileSync(patient, `export default { fetch: { timeoutMs: 600000, retries: 0 } };\n`);
    const child = spawn(
      process.execPath,
      [
        join(repoRoot, "bin", "diskpipe.mjs"),
        "--config",
        patient,
        "convert",
        server.url("/padded.gz"),
        join(dir, "out.raw"),
        "--to",
        "raw",
      ],
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
    child.kill("SIGTERM");
    assert.equal(await exited, 143, stderr);
    assert.equal(stderr.split("\n").filter((line) => line.startsWith("diskpipe:")).length, 1, stderr);
    assert.ok(!listDir(dir).includes("out.raw"));
    assert.deepEqual(
      leftovers(tmp).filter((path) => !path.includes("/jiti/")),
      [],
    );
  });

  it("SIGKILL while the decoder waits for bytes: the decoder ends, the next run removes what was left", async () => {
    const tmp = join(dir, "tmp-kill");
    mkdirSync(tmp);
    const env = { ...process.env, TMPDIR: tmp };
    const cli = join(repoRoot, "bin", "diskpipe.mjs");
    const child = spawn(
      process.execPath,
      [cli, "convert", server.url("/stalled.zst"), join(dir, "killed.raw"), "--to", "raw"],
      {
        stdio: "ignore",
        env,
      },
    );
    const decoder = await waitFor(
      () => childrenOf(child.pid ?? 0).find((c) => c.name === "zstd"),
      "zstd to start under the CLI",
    );
    const exited = new Promise((resolve) => child.on("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    await waitFor(() => !alive(decoder.pid), "the decoder to end after its parent was killed", 10_000);
    assert.ok(!listDir(dir).includes("killed.raw"));
    // The next run sweeps the folders of the dead process.
    const next = spawnSync(process.execPath, [cli, "convert", small, join(dir, "next.raw"), "--to", "raw", "-q"], {
      env,
      encoding: "utf8",
    });
    assert.equal(next.status, 0, next.stderr);
    assert.deepEqual(
      leftovers(tmp).filter((path) => !path.includes("/jiti/")),
      [],
    );
  });
});
