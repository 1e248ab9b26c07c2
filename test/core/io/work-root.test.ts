import assert from "node:assert/strict";
import { chownSync, mkdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { prepareWorkRoot, privateDirectory } from "../../../src/core/io/work-root.ts";
import { failure } from "../../helpers/failure.ts";
import { tempDir } from "../../helpers/images.ts";
import { needsRoot, withoutUids } from "../../helpers/process-state.ts";

describe("privateDirectory and prepareWorkRoot: a directory only diskpipe's user controls", () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);

  it("makes the directory and returns its identity, to notice a swap later", async () => {
    const made = join(dir, "made");
    const identity = await privateDirectory(made, "spool");
    const { dev, ino } = statSync(made);
    assert.deepEqual(identity, { dev, ino });
  });

  it("fails as config-invalid, naming the setting and the errno, when the directory cannot be made", async () => {
    writeFileSync(join(dir, "file"), "");
    const path = join(dir, "file", "sub");
    const error = await failure(privateDirectory(path, "spool"));
    assert.equal(error.code, "config-invalid");
    assert.equal(error.message, `spool: cannot create ${path} (ENOTDIR)`);
  });

  it("refuses a work root that is a symbolic link, naming the workDir setting", async () => {
    const workDir = join(dir, "linked");
    mkdirSync(join(dir, "elsewhere"), { mode: 0o700 });
    mkdirSync(workDir);
    symlinkSync(join(dir, "elsewhere"), join(workDir, "diskpipe"));
    const error = await failure(prepareWorkRoot(workDir));
    assert.equal(error.code, "config-invalid");
    assert.ok(error.message.startsWith(`workDir: ${join(workDir, "diskpipe")} is a symbolic link;`), error.message);
  });

  it("checks no owner where the platform has no user ids", { skip: needsRoot("to chown") }, async () => {
    const theirs = join(dir, "theirs");
    mkdirSync(theirs, { mode: 0o700 });
    chownSync(theirs, 65534, 65534);
    assert.match((await failure(privateDirectory(theirs, "spool"))).message, /^spool: .* belongs to uid 65534/);
    const { dev, ino } = statSync(theirs);
    assert.deepEqual(await withoutUids(() => privateDirectory(theirs, "spool")), { dev, ino });
  });
});
