import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPipeline } from "../../../src/mod.ts";
import { compress, leftovers, missingTools } from "../../plugins/compressed/helpers.ts";
import { failure } from "../../helpers/failure.ts";
import { listDir, tempDir } from "../../helpers/images.ts";
import { TestServer } from "../io/server.ts";

const MiB = 1024 * 1024;
const STALL_AT = 2 * MiB;

/**
 * A claimed container under --max-size is handed to its unpack from the head of the download
 * too (its size bound does not make the job wait for the end): a hostile image inside is
 * refused from the first MiBs. About 2 s.
 */
describe("fetchJob: a claimed container bounded by --max-size", { skip: missingTools }, () => {
  const { dir, cleanup } = tempDir("diskpipe-fetch-claimed-");
  const server = new TestServer();
  before(async () => {
    await server.start();
    const served = join(dir, "served");
    mkdirSync(served);
    // A qcow2 with a backing file, then 16 MiB of noise; the server sends 2 MiB, then nothing.
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", join(served, "base.raw"), "1M"]);
    const evil = join(served, "evil.qcow2");
    execFileSync("qemu-img", [
      "create",
      "-q",
      "-f",
      "qcow2",
      "-b",
      join(served, "base.raw"),
      "-F",
      "qcow2",
      evil,
      "64M",
    ]);
    appendFileSync(evil, randomBytes(16 * MiB));
    server.routes.set("/evil.gz", { file: compress(evil, "gz"), stall: "body", stallAfter: STALL_AT });
  });
  after(async () => {
    await server.stop();
    cleanup();
  });

  it("refuses a hostile image inside from the first MiBs, under --container gz --max-size", async () => {
    const work = join(dir, "work");
    const error = await failure(
      createPipeline({ workDir: work, fetch: { timeoutMs: 20_000, retries: 0, backoffMs: 10 } }).run({
        source: server.url("/evil.gz"),
        destination: join(dir, "evil.raw"),
        to: "raw",
        container: "gz",
        maxSize: 256 * MiB,
      }),
    );
    assert.equal(error.code, "image-rejected", error.message);
    assert.ok(
      error.problems.some((p) => p.code === "qcow2-backing-file"),
      error.message,
    );
    assert.ok((server.sent.get("/evil.gz") ?? 0) <= STALL_AT);
    assert.deepEqual(leftovers(work), []);
    assert.ok(!listDir(dir).includes("evil.raw"));
  });
});
