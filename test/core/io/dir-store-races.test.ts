import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { isDiskpipeError } from "../../../src/core/errors.ts";
import type { ImageService, ImageUploadMeta } from "../../../src/core/io/image-service.ts";
import { HOST_TAG } from "../../../src/core/io/temp.ts";
import { dirStoreFixture } from "./dir-store-setup.ts";

/** A promise factory that resolves once `count` callers wait on it: starts them together. */
function barrier(count: number): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return () => {
    if (++arrived === count) open();
    return opened;
  };
}

/** The one fulfilled result, and every rejection checked to be the store's "already exists". */
function exactlyOneWins(results: PromiseSettledResult<unknown>[]): void {
  assert.equal(results.filter((r) => r.status === "fulfilled").length, 1, "exactly one upload succeeds");
  for (const result of results) {
    if (result.status === "fulfilled") continue;
    const error: unknown = result.reason;
    assert.ok(isDiskpipeError(error), `a DiskpipeError, got ${String(error)}`);
    assert.equal(error.code, "usage");
    assert.match(error.message, /already exists/);
  }
}

const sha256 = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

// Issue 19 item 4: two uploads to one ID without --force: one wins, the other is told it exists.
describe("dirStore: concurrent uploads to one ID", () => {
  const f = dirStoreFixture();
  after(f.cleanup);

  /** The stored image and sidecar of `id` agree, and the image is one of `candidates`. */
  function storedIsOneOf(id: string, candidates: Buffer[]): void {
    const bytes = readFileSync(join(f.root, id));
    assert.ok(candidates.some((c) => c.equals(bytes)), "the stored image is byte-identical to one of the inputs");
    const record = JSON.parse(readFileSync(join(f.root, `${id}.json`), "utf8"));
    assert.equal(record.id, id);
    assert.equal(record.size, bytes.length);
    assert.equal(record.checksum, sha256(bytes));
  }

  it("two converts at once, committing together: exactly one stores, the other fails 'already exists'", async () => {
    const together = barrier(2);
    const inputs: Buffer[] = [];
    const gated: ImageService = {
      ...f.store,
      async upload(id: string, from: string, meta: ImageUploadMeta) {
        inputs.push(readFileSync(from));
        await together();
        return f.store.upload(id, from, meta);
      },
    };
    const results = await Promise.allSettled([
      f.pipeline(gated).run({ source: f.vmdk, destination: "store://images/race", to: "qcow2" }),
      f.pipeline(gated).run({ source: f.other, destination: "store://images/race", to: "qcow2" }),
    ]);
    exactlyOneWins(results);
    assert.equal(inputs.length, 2);
    assert.ok(!inputs[0]!.equals(inputs[1]!), "the two inputs differ");
    storedIsOneOf("race", inputs);
    assert.deepEqual(f.leftovers(), []);
  });

  it("four uploads of different files at once: exactly one stores", async () => {
    const files = [0, 1, 2, 3].map((n) => {
      const path = join(f.dir, `upload-${n}.bin`);
      writeFileSync(path, Buffer.alloc(3 * 1024 * 1024 + n, n + 1));
      return path;
    });
    const results = await Promise.allSettled(
      files.map((path) => {
        const bytes = readFileSync(path);
        return f.store.upload("crowd", path, { format: "raw", size: bytes.length, virtualSize: bytes.length, checksum: sha256(bytes), overwrite: false });
      }),
    );
    exactlyOneWins(results);
    storedIsOneOf("crowd", files.map((path) => readFileSync(path)));
    assert.deepEqual(f.leftovers(), []);
  });

  it("an upload removes what dead diskpipe processes left in the store, and only that", async () => {
    const dead = spawnSync("true").pid!;
    const deadName = `.gone.diskpipe-tmp-${HOST_TAG}-${dead}-0badf00d`;
    const liveName = `.busy.diskpipe-tmp-${HOST_TAG}-${process.ppid}-0badf00d`;
    writeFileSync(join(f.root, deadName), "left by a killed run");
    writeFileSync(join(f.root, liveName), "another run's work in progress");
    await f.pipeline().run({ source: f.vmdk, destination: "store://images/swept", to: "qcow2" });
    assert.ok(!existsSync(join(f.root, deadName)), "the dead run's file is removed");
    assert.ok(existsSync(join(f.root, liveName)), "a live run's file is kept");
    assert.deepEqual(readdirSync(f.root).filter((n) => n.includes(".diskpipe-tmp-")), [liveName]);
  });
});
