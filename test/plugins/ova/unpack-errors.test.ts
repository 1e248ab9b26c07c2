import assert from "node:assert/strict";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { JobContext } from "../../../src/plugin-api.ts";
import { unpackOva } from "../../../src/plugins/ova/unpack.ts";
import { tempDir } from "../../helpers/images.ts";
import { manifestOf, writeTar, type Member } from "./archive.ts";
import { vmwareOvf } from "./fixtures.ts";

const ovf: Member = {
  name: "vm.ovf",
  data: Buffer.from(vmwareOvf([{ href: "d.vmdk", capacityBytes: 4096, capacityGiB: 0 }])),
};
const disk: Member = { name: "d.vmdk", data: Buffer.alloc(512, 7) };

describe("unpackOva: what it returns and how it fails", () => {
  const { dir, cleanup } = tempDir("diskpipe-ova-unpack-errors-");
  const work = join(dir, "work");
  let count = 0;
  before(() => mkdirSync(work));
  after(cleanup);

  /** A job context as unpackOva reads it: the fetched image, the spec's source and max size, the signal. */
  function context(path: string | undefined, options: { maxSize?: number; signal?: AbortSignal } = {}): JobContext {
    return {
      spec: { source: "vm.ova", ...(options.maxSize !== undefined && { maxSize: options.maxSize }) },
      workDir: work,
      signal: options.signal ?? new AbortController().signal,
      ...(path !== undefined && { image: { path } }),
    } as unknown as JobContext;
  }

  const archive = (members: Member[]) => writeTar(join(dir, `a${++count}.ova`), members);

  /** Removes what an unpack left in the work directory (the caller's job at the job's end). */
  const clear = () => {
    for (const name of readdirSync(work)) rmSync(join(work, name), { recursive: true });
  };

  it("returns the disks and a description rendered as the descriptor's machine", async () => {
    const path = await archive([ovf, disk]);
    const appliance = await unpackOva(context(path), {});
    assert.equal(appliance.disks.length, 1);
    // The plain disk is read where it lies: after the descriptor's header and data, and its own header.
    assert.equal(appliance.disks[0].path, path);
    const offset = 512 + Math.ceil((ovf.data?.length ?? 0) / 512) * 512 + 512;
    assert.deepEqual(appliance.disks[0].region, { offset, length: 512 });
    assert.equal(appliance.disks[0].format, "vmdk");
    assert.equal(appliance.disks[0].capacity, 4096);
    assert.equal(appliance.description?.suffix, "ovf");
    const rendered = appliance.description?.render([
      { file: "vm-disk1.raw", format: "raw", virtualSize: 4096, size: 4096 },
    ]);
    assert.equal((rendered as { manifest?: unknown }).manifest, "absent");
    assert.deepEqual(
      (rendered as { disks: Array<{ file: string }> }).disks.map((d) => d.file),
      ["vm-disk1.raw"],
    );
    clear();
  });

  it("is plugin-failed without a fetched image", async () => {
    for (const ctx of [context(undefined), { ...context(""), image: {} } as unknown as JobContext])
      await assert.rejects(unpackOva(ctx, {}), {
        code: "plugin-failed",
        message: "ova: no fetched appliance to unpack",
      });
  });

  it("passes --max-size on as the largest disk capacity", async () => {
    const path = await archive([ovf, disk]);
    const appliance = await unpackOva(context(path, { maxSize: 4096 }), {});
    clear();
    await assert.rejects(unpackOva(context(path, { maxSize: 4095 }), {}), {
      code: "image-rejected",
      stage: "unpack",
      message:
        'vm.ova rejected: disk "vmdisk1" has a capacity of 4096 bytes, more than the 4095 allowed [disk-too-large]',
      problems: [
        { code: "disk-too-large", message: 'disk "vmdisk1" has a capacity of 4096 bytes, more than the 4095 allowed' },
      ],
    });
  });

  it("passes the bounds on", async () => {
    await assert.rejects(unpackOva(context(await archive([ovf, disk])), { maxEntries: 1 }), {
      code: "image-rejected",
      stage: "unpack",
      message: "vm.ova rejected: the archive holds more than 1 members [archive-entry]",
    });
  });

  it("makes a digest that does not match checksum-mismatch, without repeating the code", async () => {
    const wrong = manifestOf([ovf, { ...disk, data: Buffer.from("x") }]);
    const message = 'vm.ova rejected: "d.vmdk" does not match its digest in the manifest';
    await assert.rejects(unpackOva(context(await archive([ovf, { name: "vm.mf", data: wrong }, disk])), {}), {
      code: "checksum-mismatch",
      stage: "unpack",
      message,
      problems: [{ code: "checksum-mismatch", message: '"d.vmdk" does not match its digest in the manifest' }],
    });
  });

  it("is aborted when the job's signal is, whatever the readers threw", async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(unpackOva(context(await archive([ovf, disk]), { signal: controller.signal }), {}), {
      code: "aborted",
      message: "unpacking vm.ova was aborted",
    });
    assert.deepEqual(readdirSync(work), []);
  });

  it("lets a failure that is not a refusal through as it is", async () => {
    await assert.rejects(unpackOva(context(join(dir, "missing.ova")), {}), { code: "ENOENT" });
    assert.deepEqual(readdirSync(work), []);
  });
});
