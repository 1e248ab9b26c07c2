import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ensureRoom, keepReserve } from "../../../src/core/io/download-space.ts";
import { GrowingFile } from "../../../src/core/io/growing-file.ts";
import { spaceOf } from "../../../src/core/io/space.ts";
import { mountPlace } from "../../helpers/devices.ts";
import { needsRoot } from "../../helpers/process-state.ts";
import { codeOf, run, serve } from "./download-run.ts";
import { cut, reply, type Answer } from "./scripted-server.ts";

const chunked = { "transfer-encoding": "chunked" };

const MiB = 1024 * 1024;
const url = new URL("http://user:secret@h/img");

/** The error `work` rejects with (fails when it resolves). */
async function failure(work: Promise<unknown>): Promise<Error> {
  try {
    await work;
  } catch (error) {
    return error as Error;
  }
  throw new Error("resolved");
}

/** A 200 of `size` zero bytes sent 1 MiB at a time, with `headers`. */
function zeroes(size: number, headers: Record<string, string | number>): Answer {
  return (_req, res) => {
    res.writeHead(200, headers);
    const block = Buffer.alloc(MiB);
    let left = size;
    const pump = () => {
      while (left > 0) {
        left -= MiB;
        if (!res.write(block)) return void res.once("drain", pump);
      }
      res.end();
    };
    pump();
  };
}

describe("download space", { skip: needsRoot("mounts a tmpfs") }, () => {
  let place: ReturnType<typeof mountPlace>;
  before(() => (place = mountPlace()));
  after(() => place.cleanup());

  it("ensures room for an announced length: all the free space, not a byte more", async () => {
    const dir = place.mount("room", ["-t", "tmpfs", "-o", "size=1m", "tmpfs"]);
    const file = await GrowingFile.create(join(dir, "image"));
    const { free } = await spaceOf(dir);
    assert.equal(free, MiB);
    await ensureRoom(file, free, url);
    const error = await failure(ensureRoom(file, free + 1, url));
    assert.equal(codeOf(error), "no-space");
    assert.doesNotMatch(error.message, /secret/);
    await file.remove();
  });

  it("keeps a tenth of a small filesystem free: exactly that much is enough, a block less is not", async () => {
    const dir = place.mount("reserve", ["-t", "tmpfs", "-o", "size=40m", "tmpfs"]);
    const file = await GrowingFile.create(join(dir, "image"));
    writeFileSync(join(dir, "filler"), Buffer.alloc(36 * MiB, 1));
    assert.equal((await spaceOf(dir)).free, 4 * MiB);
    await keepReserve(file, url);
    writeFileSync(join(dir, "more"), Buffer.alloc(4096, 1));
    const error = await failure(keepReserve(file, url));
    assert.equal(codeOf(error), "no-space");
    assert.doesNotMatch(error.message, /secret/);
    await file.remove();
    const small = await serve([zeroes(MiB, { "transfer-encoding": "chunked" })], (server) => run(server.url(), dir));
    assert.equal(small.result?.size, MiB, "below the reserve, but the first check comes only after 64 MiB");
  });

  it("fails a download that fills its filesystem with no-space, not as a failed fetch", async () => {
    const dir = place.mount("full", ["-t", "tmpfs", "-o", "size=8m", "tmpfs"]);
    const done = await serve([zeroes(10 * MiB, { "transfer-encoding": "chunked" })], (server) =>
      run(server.url(), dir, { retries: 3 }),
    );
    assert.equal(codeOf(done.error), "no-space");
    assert.equal(codeOf((done.error as Error).cause), "ENOSPC");
  });

  describe("while downloading (400 MiB filesystem: 40 MiB kept free, 70 MiB free at the start)", () => {
    let dir = "";
    before(() => {
      dir = place.mount("downloads", ["-t", "tmpfs", "-o", "size=400m", "tmpfs"]);
      writeFileSync(join(dir, "filler"), Buffer.alloc(330 * MiB, 1));
    });

    it("stops a download of unannounced length once it passes 64 MiB with less than the reserve left", async () => {
      const done = await serve([zeroes(66 * MiB, { "transfer-encoding": "chunked" })], (server) =>
        run(server.url(), dir, { retries: 3 }),
      );
      assert.equal(codeOf(done.error), "no-space");
      assert.match(String((done.error as Error).message), /the size was not announced/);
      rmSync(done.file.path);
    });

    it("lets a download of unannounced length below 64 MiB eat into the reserve", async () => {
      const done = await serve([zeroes(63 * MiB, { "transfer-encoding": "chunked" })], (server) =>
        run(server.url(), dir),
      );
      assert.equal(done.result?.size, 63 * MiB);
      rmSync(done.file.path);
    });

    it("lets an announced download that fits use the reserve", async () => {
      const done = await serve([zeroes(66 * MiB, { "content-length": 66 * MiB })], (server) => run(server.url(), dir));
      assert.equal(done.result?.size, 66 * MiB);
      rmSync(done.file.path);
    });

    it("a resume's announced total needs room only for the part not yet downloaded", async () => {
      const first = 20 * MiB;
      const total = 60 * MiB;
      const answers = [
        cut({ ...chunked, etag: '"e2"' }, Buffer.alloc(first)),
        reply(
          206,
          { "content-length": total - first, "content-range": `bytes ${first}-${total - 1}/${total}` },
          Buffer.alloc(total - first),
        ),
      ];
      const done = await serve(answers, (server) =>
        run(server.url(), dir, { retries: 3, onProgress: (bytes) => bytes >= first && server.drop() }),
      );
      assert.equal(done.error, undefined, String(done.error));
      assert.equal(done.result?.size, total, "50 MiB were free for the last 40 MiB");
      rmSync(done.file.path);
    });

    it("ensures room for the rest once a resume's Content-Range first announces the total", async () => {
      const huge = 200 * MiB;
      const answers = [
        cut({ ...chunked, etag: '"e1"' }, "0123"),
        reply(206, { "content-length": huge - 4, "content-range": `bytes 4-${huge - 1}/${huge}` }, ""),
      ];
      const done = await serve(answers, (server) =>
        run(server.url(), dir, { retries: 3, onProgress: () => server.drop() }),
      );
      assert.equal(codeOf(done.error), "no-space");
      assert.match(String((done.error as Error).message), /not enough space to download .*: [\d.]+ MiB needed/);
      rmSync(done.file.path);
    });
  });
});
