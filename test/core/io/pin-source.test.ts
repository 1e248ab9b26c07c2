import assert from "node:assert/strict";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { pinSource, type PinnedSource } from "../../../src/core/io/pin-source.ts";
import { failure } from "../../helpers/failure.ts";
import { tempDir } from "../../helpers/images.ts";
import { asUser, descriptorsOn, needsRoot } from "../../helpers/process-state.ts";
import { onRealpath } from "../../helpers/realpath-hook.ts";

const CHANGED = "its path changed while diskpipe opened it";

describe("pinSource: in place only what nobody else can change, else a private snapshot", () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);
  let files = 0;
  const file = (content: string | Buffer, mode = 0o644) => {
    const path = join(dir, `file-${++files}`);
    writeFileSync(path, content);
    chmodSync(path, mode);
    return path;
  };
  const job = () => mkdtempSync(join(dir, "job-"));

  /** Asserts a snapshot in `directory` holding `content`, made for `why`, private, with nothing left open. */
  const assertSnapshot = (pinned: PinnedSource, directory: string, content: string | Buffer, why: string) => {
    assert.equal(pinned.path, join(directory, "source"));
    assert.deepEqual(Object.keys(pinned).sort(), ["path", "snapshot", "why"]);
    assert.ok(pinned.snapshot === "copy" || pinned.snapshot === "reflink", pinned.snapshot);
    assert.equal(pinned.why, why);
    assert.deepEqual(readFileSync(pinned.path), Buffer.from(content));
    assert.equal(statSync(pinned.path).mode & 0o777, 0o600);
    assert.equal(descriptorsOn(pinned.path), 0, "the snapshot is still open");
  };

  it("uses the operator's own file in place, by its real path, and closes it", async () => {
    const own = file("own");
    symlinkSync(own, join(dir, "own-link"));
    assert.deepEqual(await pinSource(join(dir, "own-link"), job()), { path: own });
    assert.equal(descriptorsOn(own), 0);
  });

  it("snapshots a file others may write, saying why, and closes it", async () => {
    const shared = file("shared", 0o666);
    const directory = job();
    assertSnapshot(await pinSource(shared, directory), directory, "shared", "its group or others may write it");
    assert.equal(descriptorsOn(shared), 0);
  });

  it("snapshots the opened file when another file is renamed over its path before the path is resolved", async () => {
    const location = file("accepted");
    const other = file("swapped in");
    const directory = job();
    const pinned = await onRealpath({ before: () => renameSync(other, location) }, () =>
      pinSource(location, directory),
    );
    assertSnapshot(pinned, directory, "accepted", CHANGED);
  });

  it("snapshots the opened file when its path is removed before it is resolved", async () => {
    const location = file("accepted");
    const directory = job();
    const pinned = await onRealpath({ before: () => unlinkSync(location) }, () => pinSource(location, directory));
    assertSnapshot(pinned, directory, "accepted", CHANGED);
  });

  it("snapshots the opened file when its path is removed right after it is resolved", async () => {
    const location = file("accepted");
    const directory = job();
    const pinned = await onRealpath({ after: () => unlinkSync(location) }, () => pinSource(location, directory));
    assertSnapshot(pinned, directory, "accepted", CHANGED);
  });

  it("replaces a leftover entry named source in the job's directory, never writing through it", async () => {
    const victim = file("victim");
    const directory = job();
    symlinkSync(victim, join(directory, "source"));
    const pinned = await pinSource(file("shared", 0o666), directory);
    assertSnapshot(pinned, directory, "shared", "its group or others may write it");
    assert.ok(lstatSync(pinned.path).isFile());
    assert.equal(readFileSync(victim, "utf8"), "victim");
  });

  it("removes a snapshot whose copy was aborted", async () => {
    const directory = job();
    const shared = file(Buffer.alloc(64 * 1024, 1), 0o666);
    await assert.rejects(pinSource(shared, directory, { signal: AbortSignal.abort() }), { name: "AbortError" });
    assert.equal(existsSync(join(directory, "source")), false);
    assert.equal(descriptorsOn(shared), 0);
  });

  it("reports the copy's own failure when its snapshot is already gone", async () => {
    const directory = job();
    const onProgress = () => {
      rmSync(join(directory, "source"));
      throw new Error("progress sink failed");
    };
    await assert.rejects(pinSource(file(Buffer.alloc(64 * 1024, 1), 0o666), directory, { onProgress }), {
      message: "progress sink failed",
    });
  });

  it("fails a missing or non-regular source as fetch-failed, and passes other errors on", async () => {
    const missing = join(dir, "missing");
    const gone = await failure(pinSource(missing, job()));
    assert.equal(gone.code, "fetch-failed");
    assert.equal(gone.message, `cannot read source ${missing}: no such file`);
    assert.equal((gone.cause as NodeJS.ErrnoException).code, "ENOENT");
    const notFile = await failure(pinSource(dir, job()));
    assert.equal(notFile.code, "fetch-failed");
    assert.equal(notFile.message, `source ${dir} is not a regular file or block device (directory)`);
    symlinkSync(join(dir, "loop-b"), join(dir, "loop-a"));
    symlinkSync(join(dir, "loop-a"), join(dir, "loop-b"));
    await assert.rejects(
      pinSource(join(dir, "loop-a"), job()),
      (error: NodeJS.ErrnoException) => error.code === "ELOOP" && !("exitCode" in error),
    );
  });

  it(
    "fails a source diskpipe's user may not read as fetch-failed",
    { skip: needsRoot("to read as another user") },
    async () => {
      chmodSync(dir, 0o755);
      const secret = file("root only", 0o600);
      const directory = job();
      const denied = await asUser(65534, () => failure(pinSource(secret, directory)));
      assert.equal(denied.code, "fetch-failed");
      assert.equal(denied.message, `cannot read source ${secret}: permission denied`);
      assert.equal((denied.cause as NodeJS.ErrnoException).code, "EACCES");
    },
  );
});
