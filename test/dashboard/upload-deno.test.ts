import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { tempDir } from "../helpers/images.ts";
import { filesIn, waitFor } from "../spool/helpers.ts";
import { CLOSE, TYPE, field, fileHead, form, post, postForm } from "./multipart-client.ts";

const repoRoot = join(import.meta.dirname, "..", "..");

describe("dashboard upload under Deno", () => {
  const { dir, cleanup } = tempDir("diskpipe-upload-deno-");
  after(() => cleanup());

  it("under Deno 2 (npm compat): the same parser streams a form into incoming/ and refuses a cut body", async () => {
    const denoRoot = join(dir, "deno-spool");
    const script = `
      import { createPipeline } from "${join(repoRoot, "src/create-pipeline.ts")}";
      import { serveDashboard } from "${join(repoRoot, "src/dashboard/serve-dashboard.ts")}";
      import { defaultConfig } from "${join(repoRoot, "src/scripting.ts")}";
      import { createSpool } from "${join(repoRoot, "src/spool/spool.ts")}";
      const spool = createSpool({ root: ${JSON.stringify(denoRoot)}, pipeline: createPipeline(await defaultConfig()) });
      const server = await serveDashboard({ spool, port: 0 });
      console.log("port " + server.port);
      setTimeout(() => Deno.exit(0), 60_000);`;
    // The binary itself: node_modules/.bin/deno is a Node wrapper, and killing it would leave Deno running.
    const child = spawn(join(repoRoot, "node_modules", "deno", "deno"), ["eval", "--ext=ts", script], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      let out = "";
      let err = "";
      child.stdout.on("data", (chunk: Buffer) => (out += chunk));
      child.stderr.on("data", (chunk: Buffer) => (err += chunk));
      const port = Number(
        (
          await waitFor(
            () => /port (\d+)/.exec(out) ?? (child.exitCode !== null ? [err, err] : undefined),
            "deno to listen",
            60_000,
          )
        )[1],
      );
      assert.ok(port > 0, err);
      const data = Buffer.alloc(3 * 1024 * 1024 + 17, 4);
      const ok = await post(port, { "content-type": TYPE }, [
        form(field("format", "raw"), fileHead("deno.img")),
        data.subarray(0, 1024 * 1024),
        data.subarray(1024 * 1024),
        CLOSE,
      ]);
      assert.equal(ok.status, 201, ok.body.error);
      assert.ok(readFileSync(join(denoRoot, "incoming/raw/deno.img")).equals(data));
      const cut = await postForm(port, form(field("format", "raw"), fileHead("cut.img"), Buffer.alloc(1000)));
      assert.deepEqual(cut, { status: 400, body: { error: "the multipart body ended early" } });
      assert.deepEqual(filesIn(denoRoot, "incoming/raw"), ["deno.img"]);
    } finally {
      child.kill();
    }
  });
});
