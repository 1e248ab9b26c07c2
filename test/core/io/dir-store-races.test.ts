import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { isDiskpipeError } from "../../../src/core/errors.ts";
import type { ImageService, ImageUploadMeta } from "../../../src/core/io/image-service.ts";
import { HOST_TAG } from "../../../src/core/io/temp.ts";
import { dirStoreFixture, releaseFifo, within } from "./dir-store-setup.ts";

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
    assert.ok(
      candidates.some((c) => c.equals(bytes)),
      "the stored image is byte-identical to one of the inputs",
    );
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
        return f.store.upload("crowd", path, {
          format: "raw",
          size: bytes.length,
          virtualSize: bytes.length,
          checksum: sha256(bytes),
          overwrite: false,
        });
      }),
    );
    exactlyOneWins(results);
    storedIsOneOf(
      "crowd",
      files.map((path) => readFileSync(path)),
    );
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
    assert.deepEqual(
      readdirSync(f.root).filter((n) => n.includes(".diskpipe-tmp-")),
      [liveName],
    );
  });
});

/** Swaps `image` between a symbolic link to `secret` and the regular file `real`, as fast as it can. */
const FLIPPER = `
const { linkSync, renameSync, symlinkSync } = require("node:fs");
const [image, secret, real, dir] = process.argv.slice(1);
for (let i = 0; ; i++) {
  symlinkSync(secret, dir + "/l" + i);
  renameSync(dir + "/l" + i, image);
  linkSync(real, dir + "/r" + i);
  renameSync(dir + "/r" + i, image);
}`;

// The image file itself: opened without following links, so a swap after a check reads nothing else.
describe("dirStore: the image file is opened, never followed", () => {
  const f = dirStoreFixture();
  after(f.cleanup);

  it("a download never reads through a symbolic link swapped in for the image", async () => {
    const { image } = await f.stored("swapped");
    const real = readFileSync(image);
    const secret = join(f.dir, "secret");
    writeFileSync(secret, Buffer.alloc(real.length, "SECRET"));
    const swap = join(f.dir, "swap");
    mkdirSync(swap);
    linkSync(image, join(swap, "real"));
    const flipper = spawn(process.execPath, ["-e", FLIPPER, image, secret, join(swap, "real"), swap], {
      stdio: "ignore",
    });
    const outcomes = { whole: 0, refused: 0, leaked: 0 };
    try {
      for (let n = 0; n < 300 && outcomes.leaked === 0; n++) {
        const to = join(f.dir, `down-${n}`);
        try {
          await f.store.download("swapped", to, new AbortController().signal);
          const got = readFileSync(to);
          if (got.equals(real)) outcomes.whole++;
          else outcomes.leaked++;
        } catch (error) {
          assert.ok(isDiskpipeError(error) && error.code === "fetch-failed", `fetch-failed, got ${String(error)}`);
          assert.match(error.message, /not a regular file/);
          outcomes.refused++;
        }
        rmSync(to, { force: true });
      }
    } finally {
      flipper.kill("SIGKILL");
      await new Promise((resolve) =>
        flipper.exitCode === null && flipper.signalCode === null ? flipper.once("exit", resolve) : resolve(undefined),
      );
    }
    rmSync(image);
    renameSync(join(swap, "real"), image);
    assert.equal(outcomes.leaked, 0, `the link's target was read: ${JSON.stringify(outcomes)}`);
    assert.ok(outcomes.whole > 0, `some downloads were whole: ${JSON.stringify(outcomes)}`);
  });

  it("an image that is a FIFO is refused by show and download without blocking", async () => {
    const { image } = await f.stored("piped");
    rmSync(image);
    execFileSync("mkfifo", [image]);
    try {
      const shown = await within(
        5000,
        f.store.show("piped").then(
          () => undefined,
          (error: unknown) => error,
        ),
        "show",
      );
      assert.ok(isDiskpipeError(shown) && shown.code === "fetch-failed");
      assert.match(shown.message, /not a regular file/);
      const to = join(f.dir, "piped.out");
      const downloaded = await within(
        5000,
        f.store.download("piped", to, new AbortController().signal).then(
          () => undefined,
          (error: unknown) => error,
        ),
        "download",
      );
      assert.ok(isDiskpipeError(downloaded) && downloaded.code === "fetch-failed");
      assert.ok(!existsSync(to));
    } finally {
      releaseFifo(image);
    }
  });
});
