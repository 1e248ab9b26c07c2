import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { ArrivingImage, JobContext, LocalImage } from "../../../src/core/context.ts";
import { DiskpipeError } from "../../../src/core/errors.ts";
import type { InspectResult } from "../../../src/core/inspect/types.ts";
import { registerFormats } from "../../../src/core/inspector.ts";
import { createJobContext, type RunningJob } from "../../../src/core/job-context.ts";
import { defineFormat, definePlugin, type UnpackedImage } from "../../../src/core/plugin.ts";
import { QemuImg } from "../../../src/core/qemu-img.ts";
import { detectedContainer, unpackImage, type Unpacker } from "../../../src/core/stages/unpack.ts";
import { tempDir } from "../../helpers/images.ts";

/** A download still arriving, whose completion the test settles. */
function arrivingImage(): { arriving: ArrivingImage; finish: () => void; fail: (error: Error) => void } {
  let finish = () => {};
  let fail: (error: Error) => void = () => {};
  const complete = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  complete.catch(() => undefined);
  const arriving: ArrivingImage = {
    reader: { size: undefined, read: async () => new Uint8Array(0) } as unknown as ArrivingImage["reader"],
    chunks: async function* () {},
    complete,
  };
  return { arriving, finish, fail };
}

/** An unpacker whose unpack runs `body` and gives a file it wrote in the job's work directory. */
function unpacker(unpacksArriving: boolean, body: (ctx: JobContext) => Promise<void> | void = () => {}): Unpacker {
  return defineFormat({
    name: "box",
    unpacksArriving,
    async unpack(ctx): Promise<UnpackedImage> {
      await body(ctx);
      const path = join(ctx.workDir, "disk.raw");
      writeFileSync(path, Buffer.alloc(512));
      return { path, format: "raw" };
    },
  }) as Unpacker;
}

describe("unpackImage and detectedContainer, on a job of their own", () => {
  const { dir, cleanup } = tempDir("diskpipe-unpack-units-");
  const jobs: RunningJob[] = [];
  const container = join(dir, "container.bin");
  writeFileSync(container, Buffer.alloc(1024));
  after(async () => {
    for (const job of jobs) await job.runCleanups();
    cleanup();
  });
  const jobWith = async (image?: LocalImage): Promise<RunningJob> => {
    const { formats } = registerFormats([]);
    const job = await createJobContext({
      spec: { source: container, destination: join(dir, "out.raw"), to: "raw" },
      workRoot: join(dir, "work"),
      qemu: new QemuImg(),
      formats,
      emit: () => {},
    });
    jobs.push(job);
    if (image) job.image = image;
    return job;
  };

  it("gives a handler that does not read arriving bytes the image only once complete, without `arriving`", async () => {
    const { arriving, finish } = arrivingImage();
    const job = await jobWith({ path: container, temporary: false, arriving });
    const seen: Array<{ completed: boolean; arriving: boolean; path: string | undefined }> = [];
    let completed = false;
    const unpacking = unpackImage(
      job,
      unpacker(false, (ctx) => {
        seen.push({ completed, arriving: ctx.image?.arriving !== undefined, path: ctx.image?.path });
      }),
    );
    completed = true;
    finish();
    const image = await unpacking;
    assert.deepEqual(seen, [{ completed: true, arriving: false, path: container }]);
    assert.ok("path" in image && image.path === join(job.workDir, "disk.raw"));
    assert.equal(job.image?.arriving, undefined);
  });

  it("gives a handler that reads arriving bytes the image at once, and fails when the download fails after it", async () => {
    const { arriving, fail } = arrivingImage();
    const job = await jobWith({ path: container, temporary: false, arriving });
    const seen: boolean[] = [];
    const unpacking = unpackImage(
      job,
      unpacker(true, (ctx) => void seen.push(ctx.image?.arriving === arriving)),
    );
    // The unpack ran before the download completed; what it made is given only once the download holds.
    assert.deepEqual(seen, [true]);
    const lost = new DiskpipeError("checksum-mismatch", "the download is not what --checksum says");
    fail(lost);
    await assert.rejects(unpacking, (error) => error === lost);
  });

  it("fails with the download's failure, not with what the unpack made of the missing bytes", async () => {
    const { arriving, fail } = arrivingImage();
    const job = await jobWith({ path: container, temporary: false, arriving });
    const lost = new DiskpipeError("fetch-failed", "the server went away");
    const error = await unpackImage(
      job,
      unpacker(true, async () => {
        fail(lost);
        await arriving.complete.catch(() => undefined);
        throw new DiskpipeError("plugin-failed", "box: the container ends early");
      }),
    ).then(
      () => assert.fail("the unpack did not fail"),
      (e: unknown) => e,
    );
    assert.equal(error, lost);
  });

  it("fails with the unpack's own error when the download is fine", async () => {
    const { arriving, finish } = arrivingImage();
    const job = await jobWith({ path: container, temporary: false, arriving });
    const own = new DiskpipeError("plugin-failed", "box: a bad header");
    finish();
    const error = await unpackImage(
      job,
      unpacker(true, () => {
        throw own;
      }),
    ).then(
      () => assert.fail("the unpack did not fail"),
      (e: unknown) => e,
    );
    assert.equal(error, own);
  });

  it("leaves a job without an image to the handler, which names what is missing", async () => {
    const job = await jobWith();
    const missing = new DiskpipeError("plugin-failed", "box: no image");
    const error = await unpackImage(
      job,
      unpacker(false, (ctx) => {
        if (!ctx.image) throw missing;
      }),
    ).then(
      () => assert.fail("the unpack did not fail"),
      (e: unknown) => e,
    );
    assert.equal(error, missing);
  });

  /** An unpacker that gives a byte range of `path` (the container's unless named). */
  const ranger = (region: { offset: number; length: number }, path?: string): Unpacker =>
    defineFormat({
      name: "ranges",
      unpack: async (ctx): Promise<UnpackedImage> => ({ path: path ?? ctx.image?.path ?? "", format: "raw", region }),
    }) as Unpacker;
  const refusal = (job: RunningJob, handler: Unpacker) =>
    unpackImage(job, handler).then(
      () => assert.fail("the unpack was accepted"),
      (e: unknown) => e as DiskpipeError,
    );

  it("takes a byte range of the container, an empty one too, and refuses a negative length", async () => {
    const job = await jobWith({ path: container, temporary: false });
    const image = await unpackImage(job, ranger({ offset: 8, length: 0 }));
    assert.ok("path" in image && image.path === container);
    assert.deepEqual(image.region, { offset: 8, length: 0 });
    const error = await refusal(job, ranger({ offset: 8, length: -1 }));
    assert.equal(error.code, "plugin-failed");
    assert.match(error.message, /names a byte range that is not one \(offset 8, length -1\)/);
  });

  it("refuses a byte range when there is no fetched container, or when the container is itself a byte range", async () => {
    const none = await jobWith();
    const error = await refusal(none, ranger({ offset: 0, length: 512 }, container));
    assert.equal(error.code, "plugin-failed");
    assert.match(error.message, /is a byte range of a file other than the container diskpipe fetched/);
    // Offsets within a range of a range would be taken from the start of the file: refused.
    const inner = await jobWith({ path: container, temporary: false, region: { offset: 512, length: 512 } });
    const nested = await refusal(inner, ranger({ offset: 0, length: 256 }));
    assert.equal(nested.code, "plugin-failed");
    assert.match(nested.message, /is a byte range of a file other than the container diskpipe fetched/);
  });

  it("never finds a container inside an unpacked container: one is unpacked once", async () => {
    const outer = unpacker(false);
    const inner = definePlugin({ name: "inner", formats: [unpacker(true)] });
    const { formats } = registerFormats([inner]);
    const job = await jobWith({ path: container, temporary: false });
    const inspection: InspectResult = {
      format: "box",
      virtualSize: 1024,
      actualSize: 1024,
      safe: true,
      problems: [],
      matches: ["box"],
      details: {},
    };
    assert.equal(detectedContainer(job, inspection, formats)?.name, "box");
    job.handler = outer;
    assert.equal(detectedContainer(job, inspection, formats), undefined);
  });
});
