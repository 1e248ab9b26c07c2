import assert from "node:assert/strict";
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import fsp, { type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it, type Mock } from "node:test";
import { syncPath, writeDurably } from "../../../src/core/io/durable.ts";
import { tempDir } from "../../helpers/images.ts";

type SyncSpy = Mock<(this: FileHandle) => Promise<void>>;

/** Whether the handle the spied sync was called on (call `i`) is closed by now (its fd is -1 once closed). */
const closed = (sync: SyncSpy, i = 0) => (sync.mock.calls[i]?.this as FileHandle | undefined)?.fd === -1;

/** The error `work` rejects with (fails when it resolves). */
async function failureOf(work: Promise<unknown>): Promise<NodeJS.ErrnoException> {
  try {
    await work;
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
  throw new Error("resolved");
}

describe("durable writes: syncPath and writeDurably", () => {
  const { dir, cleanup } = tempDir("diskpipe-durable-");
  let fileHandle: { sync(this: FileHandle): Promise<void> };
  let n = 0;
  const folder = () => {
    const path = join(dir, `case-${++n}`);
    mkdirSync(path);
    return path;
  };
  before(async () => {
    const handle = await fsp.open(dir, "r");
    fileHandle = Object.getPrototypeOf(handle) as typeof fileHandle;
    await handle.close();
  });
  after(cleanup);

  it("syncPath: fsyncs the directory and closes it; a missing one is an error", async (t) => {
    const sync = t.mock.method(fileHandle, "sync") as SyncSpy;
    await syncPath(folder());
    assert.equal(sync.mock.callCount(), 1);
    assert.equal(closed(sync), true, "the directory is closed");
    assert.equal((await failureOf(syncPath(join(dir, "missing")))).code, "ENOENT");
  });

  it("syncPath: a file system that refuses fsync on directories (procfs: EINVAL) is fine, the directory still closed", async (t) => {
    const sync = t.mock.method(fileHandle, "sync") as SyncSpy;
    await syncPath("/proc");
    assert.equal(sync.mock.callCount(), 1);
    assert.equal(
      (await failureOf(sync.mock.calls[0]?.result as Promise<void>)).code,
      "EINVAL",
      "procfs still refuses it",
    );
    assert.equal(closed(sync), true);
  });

  it("syncPath: fsyncs a file through a handle that may write, and closes it", async (t) => {
    const path = join(folder(), "data");
    writeFileSync(path, "x");
    const sync = t.mock.method(fileHandle, "sync") as SyncSpy;
    await syncPath(path);
    assert.equal(sync.mock.callCount(), 1);
    assert.equal(closed(sync), true);
  });

  it("syncPath: an I/O error is thrown for a directory, and any refusal for a file", async (t) => {
    const refuse = (code: string) => Object.assign(new Error(code), { code });
    const directory = folder();
    const file = join(directory, "data");
    writeFileSync(file, "x");
    t.mock.method(fileHandle, "sync", () => Promise.reject(refuse("EIO")));
    assert.equal((await failureOf(syncPath(directory))).code, "EIO");
    t.mock.restoreAll();
    t.mock.method(fileHandle, "sync", () => Promise.reject(refuse("EINVAL")));
    assert.equal((await failureOf(syncPath(file))).code, "EINVAL", "a file that cannot be flushed is not durable");
    for (const code of ["ENOTSUP", "EOPNOTSUPP"]) {
      t.mock.restoreAll();
      t.mock.method(fileHandle, "sync", () => Promise.reject(refuse(code)));
      await syncPath(directory);
    }
  });

  it("writeDurably: replaces the file whole, with its mode, fsyncing it and then its directory, leaving nothing else", async (t) => {
    const place = folder();
    const path = join(place, "record.json");
    writeFileSync(path, "old");
    const sync = t.mock.method(fileHandle, "sync") as SyncSpy;
    const umask = process.umask(0);
    try {
      await writeDurably(path, "new\n", { mode: 0o640 });
    } finally {
      process.umask(umask);
    }
    assert.equal(readFileSync(path, "utf8"), "new\n");
    assert.equal(statSync(path).mode & 0o777, 0o640);
    assert.deepEqual(readdirSync(place), ["record.json"]);
    assert.equal(sync.mock.callCount(), 2, "the file before the rename, the directory after it");
    assert.equal(closed(sync, 0) && closed(sync, 1), true);
    await writeDurably(path, Buffer.from([1, 2, 3]));
    assert.deepEqual([...readFileSync(path)], [1, 2, 3]);
    assert.equal(statSync(path).mode & 0o777, 0o644 & ~umask, "0644 by default");
  });

  it("writeDurably: a step that fails is thrown and the temporary file removed; a missing folder is ENOENT", async () => {
    const place = folder();
    const taken = join(place, "taken");
    mkdirSync(join(taken, "inside"), { recursive: true });
    assert.match((await failureOf(writeDurably(taken, "x"))).code ?? "", /^(EISDIR|ENOTEMPTY|EEXIST)$/);
    assert.deepEqual(readdirSync(place), ["taken"]);
    assert.equal((await failureOf(writeDurably(join(place, "missing", "x"), "x"))).code, "ENOENT");
  });
});
