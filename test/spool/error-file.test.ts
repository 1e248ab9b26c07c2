import assert from "node:assert/strict";
import { mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import fsp, { type FileHandle } from "node:fs/promises";
import { basename, join } from "node:path";
import { after, before, describe, it, type Mock } from "node:test";
import { tempPathBeside } from "../../src/core/io/temp.ts";
import { writeErrorFile } from "../../src/spool/claim.ts";
import type { SpoolError } from "../../src/spool/types.ts";
import { tempDir } from "../helpers/images.ts";
import { failureOf, withRandomBytes } from "./fs-hooks.ts";

type SyncSpy = Mock<(this: FileHandle) => Promise<void>>;

/** Whether the handle the spied sync was called on is closed by now (its fd is -1 once closed). */
const closed = (sync: SyncSpy) => (sync.mock.calls[0]?.this as FileHandle | undefined)?.fd === -1;

const error: SpoolError = {
  code: "image-rejected",
  message: "backing file",
  stage: "inspect",
  at: "2025-01-01T00:00:00.000Z",
};

describe("claim: the error file", () => {
  const { dir, cleanup } = tempDir("diskpipe-error-file-");
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

  it("writeErrorFile: the reason as indented JSON and a newline, mode 0644 whatever the umask, fsynced, nothing else left", async (t) => {
    const failed = folder();
    const path = join(failed, "disk.vmdk.error.json");
    const sync = t.mock.method(fileHandle, "sync") as SyncSpy;
    const umask = process.umask(0);
    try {
      await writeErrorFile(path, error);
    } finally {
      process.umask(umask);
    }
    assert.equal(readFileSync(path, "utf8"), `${JSON.stringify(error, null, 2)}\n`);
    assert.equal(statSync(path).mode & 0o777, 0o644);
    assert.deepEqual(readdirSync(failed), ["disk.vmdk.error.json"]);
    assert.equal(sync.mock.callCount(), 2, "the file is fsynced before the rename, the directory after it");
    assert.equal(closed(sync), true, "the file is closed");
  });

  it("writeErrorFile: never follows what is at its temporary name (created exclusively), and removes it", async () => {
    const failed = folder();
    const path = join(failed, "disk.vmdk.error.json");
    const victim = join(dir, `victim-${n}`);
    writeFileSync(victim, "precious");
    const random = Buffer.from("0badf00d", "hex");
    const temp = await withRandomBytes(random, async () => tempPathBeside(path));
    symlinkSync(victim, temp);
    const failure = await failureOf(withRandomBytes(random, () => writeErrorFile(path, error)));
    assert.equal(failure.code, "EEXIST");
    assert.equal(readFileSync(victim, "utf8"), "precious");
    assert.deepEqual(readdirSync(failed), [], `neither ${basename(path)} nor the temporary name is left`);
  });

  it("writeErrorFile: a step that fails is thrown, and the temporary file is removed", async () => {
    const failed = folder();
    const taken = join(failed, "disk.vmdk.error.json");
    mkdirSync(join(taken, "inside"), { recursive: true });
    assert.match((await failureOf(writeErrorFile(taken, error))).code ?? "", /^(EISDIR|ENOTEMPTY|EEXIST)$/);
    assert.deepEqual(readdirSync(failed), ["disk.vmdk.error.json"]);
    assert.equal((await failureOf(writeErrorFile(join(failed, "missing", "x.error.json"), error))).code, "ENOENT");
  });
});
