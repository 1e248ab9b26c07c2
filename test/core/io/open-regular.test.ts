import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileKind, NotRegularError, openRegular, readSmallFile } from "../../../src/core/io/open-regular.ts";
import { tempDir } from "../../helpers/images.ts";
import { freeLoopDevice } from "../../helpers/devices.ts";
import { descriptorsOn, needsRoot } from "../../helpers/process-state.ts";

/** Awaits an openRegular/readSmallFile that must refuse, and returns its NotRegularError. */
async function refusal(work: Promise<unknown>): Promise<NotRegularError> {
  const error = await work.then(
    () => assert.fail("expected a refusal"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof NotRegularError, `expected a NotRegularError, got ${String(error)}`);
  return error;
}

describe("openRegular: only regular files (and block devices when asked), never blocking", () => {
  const { dir, cleanup } = tempDir();
  const file = join(dir, "file");
  const fifo = join(dir, "fifo");
  const socket = join(dir, "socket");
  const link = join(dir, "link");
  let server: Server;

  before(async () => {
    writeFileSync(file, "0123456789");
    execFileSync("mkfifo", [fifo]);
    symlinkSync(file, link);
    mkdirSync(join(dir, "dir"));
    server = createServer();
    await new Promise<void>((resolve) => server.listen(socket, resolve));
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    cleanup();
  });

  it("names the kind of every non-regular file", () => {
    assert.equal(fileKind(statSync(fifo)), "FIFO");
    assert.equal(fileKind(statSync("/dev/null")), "character device");
    assert.equal(fileKind(statSync(join(dir, "dir"))), "directory");
    assert.equal(fileKind(statSync(socket)), "socket");
    assert.equal(fileKind(lstatSync(link)), "symbolic link");
    assert.equal(fileKind(statSync(file)), "regular file");
  });

  it("refuses a FIFO, a character device, a directory and a socket with a NotRegularError that says which", async () => {
    for (const [path, kind] of [
      [fifo, "FIFO"],
      ["/dev/null", "character device"],
      [join(dir, "dir"), "directory"],
      [socket, "socket"],
    ]) {
      const error = await refusal(openRegular(path));
      assert.equal(error.code, "ENOTREGULAR");
      assert.equal(error.name, "NotRegularError");
      assert.equal(error.kind, kind);
      assert.equal(error.path, path);
      assert.equal(error.message, `${path} is a ${kind}, not a regular file`);
    }
  });

  it("follows a symbolic link by default and refuses it with followLinks false", async () => {
    const { handle, stats } = await openRegular(link);
    await handle.close();
    assert.equal(stats.ino, statSync(file).ino);
    const error = await refusal(openRegular(link, { followLinks: false }));
    assert.equal(error.kind, "symbolic link");
  });

  it("passes on a loop of links as the ELOOP it is when links are followed", async () => {
    symlinkSync(join(dir, "loop-b"), join(dir, "loop-a"));
    symlinkSync(join(dir, "loop-a"), join(dir, "loop-b"));
    await assert.rejects(openRegular(join(dir, "loop-a")), (error: NodeJS.ErrnoException) => {
      assert.ok(!(error instanceof NotRegularError));
      assert.equal(error.code, "ELOOP");
      return true;
    });
  });

  it("takes a file of exactly maxBytes and refuses one byte more", async () => {
    const { handle, stats } = await openRegular(file, { maxBytes: 10 });
    await handle.close();
    assert.equal(stats.size, 10);
    const error = await refusal(openRegular(file, { maxBytes: 9 }));
    assert.equal(error.kind, "larger than 9 bytes");
    assert.equal(error.message, `${file} is larger than 9 bytes, not a regular file`);
    assert.equal(descriptorsOn(file), 0, "the refused file is still open");
  });
});

describe("readSmallFile: the whole file, never more than maxBytes", () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);

  it("returns a file of exactly maxBytes whole, and closes it", async () => {
    const path = join(dir, "exact");
    const bytes = Buffer.from("exactly sixteen!");
    writeFileSync(path, bytes);
    assert.deepEqual(await readSmallFile(path, 16), bytes);
    assert.equal(descriptorsOn(path), 0);
  });

  it("refuses a file of maxBytes + 1", async () => {
    const path = join(dir, "over");
    writeFileSync(path, "seventeen bytes!!");
    const error = await refusal(readSmallFile(path, 16));
    assert.equal(error.kind, "larger than 16 bytes");
  });

  it("refuses a file that holds more than its size said when opened (it grew, or is a /proc file)", async () => {
    assert.equal(statSync("/proc/self/status").size, 0);
    const error = await refusal(readSmallFile("/proc/self/status", 16));
    assert.equal(error.kind, "larger than 16 bytes");
    assert.equal(error.message, "/proc/self/status is larger than 16 bytes, not a regular file");
  });
});

describe("openRegular on a block device", { skip: needsRoot("a loop device") }, () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);

  it("refuses it unless blockDevice is set", async () => {
    const device = freeLoopDevice();
    assert.equal(fileKind(statSync(device)), "block device");
    assert.equal((await refusal(openRegular(device))).kind, "block device");
    assert.equal((await refusal(openRegular(device, { blockDevice: false }))).kind, "block device");
    const { handle, stats } = await openRegular(device, { blockDevice: true });
    await handle.close();
    assert.ok(stats.isBlockDevice());
  });

  it("never judges a block device by maxBytes (its stat size says nothing), only regular files", async () => {
    const { handle } = await openRegular(freeLoopDevice(), { blockDevice: true, maxBytes: -1 });
    await handle.close();
    const empty = join(dir, "empty");
    writeFileSync(empty, "");
    assert.equal((await refusal(openRegular(empty, { maxBytes: -1 }))).kind, "larger than -1 bytes");
  });
});
