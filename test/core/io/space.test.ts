import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, writeSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { dirStore } from "../../../src/core/io/dir-store.ts";
import { defineImageService } from "../../../src/core/io/image-service.ts";
import type { JobEvent } from "../../../src/core/job.ts";
import { createPipeline } from "../../../src/create-pipeline.ts";
import { definePlugin } from "../../../src/core/plugin.ts";
import { failure, MiB } from "../../helpers/failure.ts";
import { makeImage, makeRaw, tempDir } from "../../helpers/images.ts";
import { TestServer } from "./server.ts";
import { requirement } from "../../helpers/requirement.ts";

/** Mounts a tmpfs of `size` at `dir`; false when this process may not (not root, no CAP_SYS_ADMIN). */
function mountTmpfs(dir: string, size: string): boolean {
  mkdirSync(dir, { recursive: true });
  return (
    spawnSync("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0755`, "tmpfs", dir], { stdio: "ignore" }).status === 0
  );
}

const probe = tempDir("diskpipe-tmpfs-probe-");
const canMount = process.getuid?.() === 0 && mountTmpfs(join(probe.dir, "m"), "1m");
if (canMount) spawnSync("umount", [join(probe.dir, "m")]);
probe.cleanup();
const skip = requirement(canMount ? false : "needs root to mount a small tmpfs (mount -t tmpfs)");

describe("space: checked up front, explained when it runs out mid-way", { skip }, () => {
  const { dir, cleanup } = tempDir();
  const small = join(dir, "small");
  const work = join(dir, "work");
  const server = new TestServer();
  let qcow2 = "";
  let holey = "";
  const mounts: string[] = [];
  const nothingIn = (path: string) => (existsSync(path) ? readdirSync(path) : []);
  const workLeft = () => nothingIn(join(work, "diskpipe"));

  before(async () => {
    assert.ok(mountTmpfs(small, "8m"));
    mounts.push(small);
    const raw = makeRaw(join(dir, "full.raw"), 12 * MiB);
    const fd = openSync(raw, "r+");
    for (let at = 0; at < 12 * MiB; at += 64 * 1024) writeSync(fd, Buffer.alloc(64 * 1024, 0x5a), 0, 64 * 1024, at);
    closeSync(fd);
    qcow2 = makeImage(raw, "qcow2", join(dir, "full.qcow2"));
    // 48 MiB with about 5 MiB of data: the copy engine's estimate (the allocated size) fits the 8 MiB tmpfs.
    holey = makeRaw(join(dir, "holey.raw"), 48 * MiB);
    const hfd = openSync(holey, "r+");
    writeSync(hfd, Buffer.alloc(5 * MiB, 0x77), 0, 5 * MiB, MiB);
    closeSync(hfd);
    await server.start();
    server.routes.set("/full.qcow2", { file: qcow2 });
    server.routes.set("/chunked.qcow2", { file: qcow2, noLength: true });
  });
  after(async () => {
    await server.stop();
    for (const mount of mounts) spawnSync("umount", [mount]);
    cleanup();
  });

  it("refuses up front when the measured output does not fit the destination", async () => {
    const events: JobEvent[] = [];
    const pipeline = createPipeline({ workDir: work });
    pipeline.on((e) => events.push(e));
    const error = await failure(pipeline.run({ source: qcow2, destination: join(small, "out.raw"), to: "raw" }));
    assert.equal(error.code, "no-space");
    assert.equal(error.exitCode, 1);
    assert.match(
      error.message,
      new RegExp(`not enough space for the output .* in ${small}: 12(\\.0)? MiB needed, [\\d.]+ (MiB|KiB) free`),
    );
    assert.ok(!events.some((e) => e.type === "stage-start" && e.stage === "convert"), "the conversion started");
    assert.deepEqual(nothingIn(small), []);
    assert.deepEqual(workLeft(), []);
  });

  it("explains the copy engine running out mid-way (the disk fills after the check) and removes the partial output", async () => {
    const filler = join(small, "filler");
    const pipeline = createPipeline({ workDir: work });
    // Someone else fills the filesystem once the space check has passed.
    pipeline.on((e) => {
      if (e.type === "stage-start" && e.stage === "convert") spawnSync("fallocate", ["-l", "4M", filler]);
    });
    const error = await failure(pipeline.run({ source: holey, destination: join(small, "holey.raw"), to: "raw" }));
    spawnSync("rm", ["-f", filler]);
    assert.equal(error.code, "no-space", error.message);
    assert.match(
      error.message,
      new RegExp(
        `no space left in ${small} while writing the output \\(.*holey\\.raw\\): [\\d.]+ (KiB|MiB) written, about [\\d.]+ MiB needed, [\\d.]+ (B|KiB|MiB) free`,
      ),
    );
    assert.deepEqual(nothingIn(small), []);
    assert.deepEqual(workLeft(), []);
  });

  it("explains qemu-img running out mid-way when the disk fills after the check", async () => {
    const filler = join(small, "filler");
    const medium = join(dir, "medium.qcow2");
    const data = join(dir, "medium-data.raw");
    spawnSync("dd", ["if=/dev/urandom", `of=${data}`, "bs=1M", "count=5", "status=none"]);
    makeImage(data, "qcow2", medium);
    const pipeline = createPipeline({ workDir: work });
    // Someone else fills the filesystem once the space check has passed.
    pipeline.on((e) => {
      if (e.type === "stage-start" && e.stage === "convert") spawnSync("fallocate", ["-l", "6M", filler]);
    });
    const error = await failure(pipeline.run({ source: medium, destination: join(small, "late.qcow2"), to: "qcow2" }));
    spawnSync("rm", ["-f", filler]);
    assert.equal(error.code, "no-space");
    assert.match(
      error.message,
      new RegExp(
        `no space left in ${small} while writing the output \\(.*late\\.qcow2\\): [\\d.]+ (KiB|MiB) written, about 5(\\.\\d)? MiB needed`,
      ),
    );
    assert.deepEqual(nothingIn(small), []);
    assert.deepEqual(workLeft(), []);
  });

  it("checks the conversion directory for staged outputs (HTTP PUT) and the store's directory", async () => {
    const tinyWork = join(dir, "tiny-work");
    assert.ok(mountTmpfs(tinyWork, "4m"));
    mounts.push(tinyWork);
    const staged = await failure(
      createPipeline({ workDir: tinyWork }).run({ source: qcow2, destination: server.url("/put/x.raw"), to: "raw" }),
    );
    assert.equal(staged.code, "no-space");
    assert.match(staged.message, /staged in the conversion directory/);
    assert.equal(server.requests("/put/x.raw", "PUT").length, 0);
    assert.deepEqual(nothingIn(join(tinyWork, "diskpipe")), []);

    const store = definePlugin({ name: "store", ...defineImageService("small", dirStore(join(small, "images"))) });
    const full = await failure(
      createPipeline({ workDir: work, plugins: [store] }).run({
        source: qcow2,
        destination: "store://small/x",
        to: "raw",
      }),
    );
    assert.equal(full.code, "no-space");
    assert.match(full.message, new RegExp(`in ${small}/images: 12(\\.0)? MiB needed`));
    assert.deepEqual(nothingIn(join(small, "images")), []);
    assert.deepEqual(workLeft(), []);
  });

  it("refuses a download that cannot fit, up front with Content-Length, mid-way without", async () => {
    const tinyWork = join(dir, "tiny-download");
    assert.ok(mountTmpfs(tinyWork, "512k"));
    mounts.push(tinyWork);
    const pipeline = createPipeline({ workDir: tinyWork, fetch: { timeoutMs: 5000, retries: 0, backoffMs: 5 } });
    const known = await failure(
      pipeline.run({ source: server.url("/full.qcow2"), destination: join(dir, "d1.raw"), to: "raw" }),
    );
    assert.equal(known.code, "no-space");
    assert.match(known.message, /not enough space to download .*full\.qcow2 into .*: [\d.]+ MiB needed/);
    const unknown = await failure(
      pipeline.run({ source: server.url("/chunked.qcow2"), destination: join(dir, "d2.raw"), to: "raw" }),
    );
    assert.equal(unknown.code, "no-space");
    assert.match(unknown.message, /no space left in .* while downloading .*chunked\.qcow2: [\d.]+ KiB written/);
    assert.deepEqual(nothingIn(join(tinyWork, "diskpipe")), []);
    assert.ok(!existsSync(join(dir, "d1.raw")) && !existsSync(join(dir, "d2.raw")));
  });

  it("stops a download of unannounced length before its filesystem is full (a tenth kept free, at most 1 GiB)", async () => {
    const reserveWork = join(dir, "reserve-work");
    assert.ok(mountTmpfs(reserveWork, "640m"));
    mounts.push(reserveWork);
    server.routes.set("/endless.raw", { generated: { cap: 1024 * MiB, byte: 0x5a } });
    const error = await failure(
      createPipeline({ workDir: reserveWork, fetch: { timeoutMs: 5000, retries: 0, backoffMs: 5 } }).run({
        source: server.url("/endless.raw"),
        destination: join(dir, "endless.raw"),
        to: "raw",
      }),
    );
    assert.equal(error.code, "no-space");
    assert.match(error.message, /the size was not announced, and diskpipe keeps 64(\.0)? MiB free/);
    assert.deepEqual(nothingIn(join(reserveWork, "diskpipe")), []);
    assert.ok(!existsSync(join(dir, "endless.raw")));
  });
});
