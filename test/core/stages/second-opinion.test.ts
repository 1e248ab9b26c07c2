import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { inspectFile } from "../../helpers/inspect.ts";
import { registerFormats } from "../../../src/core/inspector.ts";
import { createJobContext, type RunningJob } from "../../../src/core/job-context.ts";
import type { JobSpec } from "../../../src/core/job.ts";
import { createPipeline } from "../../../src/create-pipeline.ts";
import { defineFormat, definePlugin } from "../../../src/core/plugin.ts";
import { QemuImg } from "../../../src/core/qemu-img.ts";
import { inspectJob } from "../../../src/core/stages/inspect.ts";
import { failure } from "../../helpers/failure.ts";
import { makeImage, makeRaw, qemuImg, tempDir } from "../../helpers/images.ts";
import { withStandardFormats } from "../../../src/standard-formats.ts";

const SIZE = 2 * 1024 * 1024;
const MAGIC = "DISKPIPE-TEST-CONTAINER";
const STRAY = "DISKPIPE-TEST-STRAY";

/** A container-like format qemu-img cannot open: detected natively, no qemu driver. */
const container = definePlugin({
  name: "test-container",
  formats: [
    defineFormat({
      name: "test-container",
      writable: false,
      async detect(reader) {
        const head = Buffer.from(await reader.read(0, MAGIC.length));
        return head.toString("latin1") === MAGIC ? { format: "test-container", virtualSize: SIZE, problems: [] } : null;
      },
    }),
    // A detector that names a format no plugin registers.
    defineFormat({
      name: "test-stray-detector",
      writable: false,
      async detect(reader) {
        const head = Buffer.from(await reader.read(0, STRAY.length));
        return head.toString("latin1") === STRAY ? { format: "test-stray", virtualSize: SIZE, problems: [] } : null;
      },
    }),
  ],
});

describe("inspectJob: the second opinion on its own", () => {
  const { dir, cleanup } = tempDir();
  const { formats } = registerFormats(withStandardFormats([container]));
  const jobs: RunningJob[] = [];
  /** A qemu-img that fails with qemu-img-missing whenever it is asked anything. */
  const absent = new QemuImg({ binary: join(dir, "no-qemu-img") });
  const images: Record<string, string> = {};
  before(() => {
    const raw = makeRaw(join(dir, "disk.raw"), SIZE);
    images.qcow2 = makeImage(raw, "qcow2", join(dir, "disk.qcow2"));
    images.streamOptimized = makeImage(raw, "vmdk", join(dir, "stream.vmdk"), ["-o", "subformat=streamOptimized"]);
    images.monolithicSparse = makeImage(raw, "vmdk", join(dir, "sparse.vmdk"));
    images.ploop = join(dir, "disk.hds");
    qemuImg("create", "-q", "-f", "parallels", images.ploop, String(SIZE));
    images.stray = join(dir, "disk.stray");
    writeFileSync(images.stray, Buffer.concat([Buffer.from(STRAY, "latin1"), Buffer.alloc(64 * 1024 - STRAY.length)]));
    images.container = join(dir, "disk.container");
    writeFileSync(
      images.container,
      Buffer.concat([Buffer.from(MAGIC, "latin1"), Buffer.alloc(64 * 1024 - MAGIC.length)]),
    );
  });
  after(async () => {
    for (const job of jobs) await job.runCleanups();
    cleanup();
  });

  /** inspectJob on the image the job holds. */
  function inspectImageOf(job: RunningJob, registry: typeof formats, streamed?: Parameters<typeof inspectJob>[3]) {
    assert.ok(job.image);
    return inspectJob(job, job.image, registry, streamed);
  }

  async function jobFor(path: string, spec: Partial<JobSpec> = {}, qemu = new QemuImg()): Promise<RunningJob> {
    const job = await createJobContext({
      spec: { source: path, destination: join(dir, "out.raw"), to: "raw", ...spec },
      workRoot: join(dir, "work"),
      qemu,
      formats,
      emit: () => {},
    });
    jobs.push(job);
    job.image = { path, temporary: false };
    return job;
  }

  for (const type of ["monolithicSparse", "streamOptimized"]) {
    it(`accepts a ${type} VMDK qemu-img reads the same way, at exactly the size limit`, async () => {
      const result = await inspectImageOf(await jobFor(images[type], { maxSize: SIZE }), formats);
      assert.equal(result.format, "vmdk");
      assert.equal(result.details.createType, type);
      assert.equal(result.virtualSize, SIZE);
    });
  }

  it("holds the image to its own claim (an unpacked container's, a store's) when the request makes none", async () => {
    const job = await jobFor(images.qcow2);
    const error = await failure(inspectJob(job, { path: images.qcow2, claimed: "vmdk", temporary: false }, formats));
    assert.deepEqual([error.code, error.exitCode], ["format-mismatch", 3]);
    assert.deepEqual(
      error.problems?.map((p) => p.code),
      ["format-mismatch"],
    );
    assert.equal(
      (await inspectJob(job, { path: images.qcow2, claimed: "qcow2", temporary: false }, formats)).format,
      "qcow2",
    );
  });

  it("accepts an image of any size when the job sets no limit", async () => {
    const result = await inspectImageOf(await jobFor(images.qcow2), formats);
    assert.equal(result.virtualSize, SIZE);
  });

  it("enforces the size limit on qemu-img's size even when the inspection it is given did not", async () => {
    const streamed = await inspectFile(images.qcow2, {});
    assert.equal(streamed.safe, true);
    const error = await failure(inspectImageOf(await jobFor(images.qcow2, { maxSize: SIZE - 512 }), formats, streamed));
    assert.equal(error.code, "image-rejected");
    assert.equal(error.exitCode, 3);
    assert.equal(error.stage, "inspect");
    assert.deepEqual(error.problems, [
      { code: "too-large", message: `virtual size ${SIZE} exceeds the limit of ${SIZE - 512} bytes` },
    ]);
  });

  it("does not ask qemu-img about a format it has no driver for (a container is unpacked first)", async () => {
    const result = await inspectImageOf(await jobFor(images.container, {}, absent), formats);
    assert.equal(result.format, "test-container");
    assert.equal(result.safe, true);
  });

  it("does not ask qemu-img about a detected format no plugin registers", async () => {
    const result = await inspectImageOf(await jobFor(images.stray, {}, absent), formats);
    assert.equal(result.format, "test-stray");
    assert.equal(result.safe, true);
  });

  it("a pipeline without the ploop plugin refuses a ploop image as unsupported, never as raw", async () => {
    const error = await failure(
      createPipeline({ workDir: join(dir, "work") }).run({
        source: images.ploop,
        destination: join(dir, "ploop.raw"),
        to: "raw",
      }),
    );
    assert.equal(error.code, "image-rejected");
    assert.deepEqual(
      error.problems?.map((p) => p.code),
      ["unsupported-format"],
    );
    assert.equal(existsSync(join(dir, "ploop.raw")), false);
  });
});
