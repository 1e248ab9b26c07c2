import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { dirStore } from "../../../src/core/io/dir-store.ts";
import { fetchCache } from "../../../src/core/io/fetch-cache.ts";
import { defineImageService, type ImageService } from "../../../src/core/io/image-service.ts";
import { createPipeline } from "../../../src/create-pipeline.ts";
import { definePlugin } from "../../../src/core/plugin.ts";
import { failure, MiB } from "../../helpers/failure.ts";
import { makeImage, makeRaw, sameDisk, tempDir } from "../../helpers/images.ts";

describe("image services and the directory store", () => {
  const { dir, cleanup } = tempDir();
  const work = join(dir, "work");
  const root = join(dir, "store");
  const out = join(dir, "out");
  let raw = "";
  let vmdk = "";
  let downloads = 0;
  const store = dirStore(root);
  const counted: ImageService = {
    ...store,
    show: (id) => store.show(id),
    upload: (id, from, meta) => store.upload(id, from, meta),
    download: (id, to, signal) => {
      downloads++;
      return store.download(id, to, signal);
    },
  };
  const images = definePlugin({ name: "images", ...defineImageService("images", counted) });
  const pipeline = () => createPipeline({ workDir: work, plugins: [images] });
  const leftovers = () => [
    ...(existsSync(join(work, "diskpipe")) ? readdirSync(join(work, "diskpipe")) : []),
    ...readdirSync(root).filter((n) => n.includes(".diskpipe-tmp-")),
    ...readdirSync(out).filter((n) => n.startsWith(".")),
  ];

  before(() => {
    mkdirSync(out);
    mkdirSync(root);
    raw = makeRaw(join(dir, "disk.raw"), 6 * MiB);
    vmdk = makeImage(raw, "vmdk", join(dir, "disk.vmdk"));
  });
  after(cleanup);

  it("round-trips: a path to the store, the store to a path", async () => {
    const stored = await pipeline().run({ source: vmdk, destination: "store://images/web-01", to: "qcow2" });
    const record = JSON.parse(readFileSync(join(root, "web-01.json"), "utf8"));
    assert.equal(record.format, "qcow2");
    assert.equal(record.size, stored.outputSize);
    assert.equal(record.virtualSize, 6 * MiB);
    assert.match(record.checksum, /^sha256:[0-9a-f]{64}$/);
    const back = await pipeline().run({
      source: "store://images/web-01",
      destination: join(out, "web-01.raw"),
      to: "raw",
    });
    assert.equal(back.from, "qcow2");
    assert.equal(back.sourceHash, record.checksum);
    assert.ok(sameDisk(raw, "raw", join(out, "web-01.raw"), "raw"));
    assert.deepEqual(
      (await store.list()).map((i) => i.id),
      ["web-01"],
    );
    assert.deepEqual(leftovers(), []);
  });

  it("keeps an existing image unless the job may overwrite it", async () => {
    await pipeline().run({ source: vmdk, destination: "store://images/kept", to: "qcow2" });
    const error = await failure(pipeline().run({ source: vmdk, destination: "store://images/kept", to: "vmdk" }));
    assert.equal(error.code, "usage");
    assert.equal(JSON.parse(readFileSync(join(root, "kept.json"), "utf8")).format, "qcow2");
    await pipeline().run({ source: vmdk, destination: "store://images/kept", to: "vmdk", overwrite: true });
    assert.equal(JSON.parse(readFileSync(join(root, "kept.json"), "utf8")).format, "vmdk");
    assert.deepEqual(leftovers(), []);
  });

  it("treats the store's format as a claim the inspector must confirm, and checks its checksum", async () => {
    await pipeline().run({ source: vmdk, destination: "store://images/claimed", to: "qcow2" });
    const sidecar = join(root, "claimed.json");
    const record = JSON.parse(readFileSync(sidecar, "utf8"));
    writeFileSync(sidecar, JSON.stringify({ ...record, format: "vmdk" }));
    const mismatch = await failure(
      pipeline().run({ source: "store://images/claimed", destination: join(out, "claimed.raw"), to: "raw" }),
    );
    assert.equal(mismatch.code, "format-mismatch");
    assert.equal(mismatch.exitCode, 3);
    writeFileSync(sidecar, JSON.stringify({ ...record, checksum: `sha256:${"1".repeat(64)}` }));
    const wrong = await failure(
      pipeline().run({ source: "store://images/claimed", destination: join(out, "claimed.raw"), to: "raw" }),
    );
    assert.equal(wrong.code, "checksum-mismatch");
    assert.ok(!existsSync(join(out, "claimed.raw")));
    assert.deepEqual(leftovers(), []);
  });

  it("validates ids so nothing escapes the root, and refuses symlinks", async () => {
    for (const id of ["../escape", ".hidden", "a%2Fb", "x.json", "%2E%2E"]) {
      const error = await failure(pipeline().run({ source: vmdk, destination: `store://images/${id}`, to: "qcow2" }));
      assert.equal(error.code, "usage", id);
      assert.match(error.message, /invalid image id/, id);
    }
    assert.ok(!existsSync(join(dir, "escape")));
    symlinkSync(vmdk, join(root, "linked"));
    writeFileSync(join(root, "linked.json"), JSON.stringify({ id: "linked", format: "vmdk", size: 1 }));
    const error = await failure(
      pipeline().run({ source: "store://images/linked", destination: join(out, "linked.raw"), to: "raw" }),
    );
    assert.equal(error.code, "fetch-failed");
    assert.match(error.message, /not a regular file/);
    assert.deepEqual(leftovers(), []);
  });

  it("a missing image is fetch-failed", async () => {
    const error = await failure(
      pipeline().run({ source: "store://images/nothing", destination: join(out, "nothing.raw"), to: "raw" }),
    );
    assert.equal(error.code, "fetch-failed");
    assert.match(error.message, /no image "nothing"/);
  });

  it("downloads an image once for a whole batch", async () => {
    await pipeline().run({ source: vmdk, destination: "store://images/batched", to: "qcow2" });
    downloads = 0;
    const specs = ["raw", "vdi", "vhdx"].map((to) => ({
      source: "store://images/batched",
      destination: join(out, `batch.${to}`),
      to,
    }));
    const items = [];
    for await (const item of createPipeline({ workDir: work, plugins: [images], jobs: 1 }).batch(specs))
      items.push(item);
    assert.deepEqual(
      items.map((i) => i.error?.message),
      [undefined, undefined, undefined],
    );
    assert.equal(downloads, 1);
    assert.equal(fetchCache.size, 0);
    assert.deepEqual(leftovers(), []);
  });

  it("a failing upload is upload-failed and leaves nothing behind", async () => {
    const broken = definePlugin({
      name: "broken",
      ...defineImageService("broken", {
        ...store,
        upload: async () => Promise.reject(new Error("the store is read-only")),
      }),
    });
    const error = await failure(
      createPipeline({ workDir: work, plugins: [broken] }).run({
        source: vmdk,
        destination: "store://broken/x",
        to: "qcow2",
      }),
    );
    assert.equal(error.code, "upload-failed");
    assert.match(error.message, /store:\/\/broken: upload of x failed: the store is read-only/);
    assert.deepEqual(leftovers(), []);
  });
});
