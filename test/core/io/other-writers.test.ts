import assert from "node:assert/strict";
import { chmodSync, chownSync, mkdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { otherWriters, pathWriters } from "../../../src/core/io/other-writers.ts";
import { tempDir } from "../../helpers/images.ts";
import { asUser, needsRoot, withoutUids } from "../../helpers/process-state.ts";

describe("otherWriters and pathWriters: who besides diskpipe's user and root could change a file", () => {
  const { dir, cleanup } = tempDir();
  const owned = (path: string, uid: number, mode: number) => {
    chownSync(path, uid, uid);
    chmodSync(path, mode);
    return path;
  };
  const file = (name: string, uid = 0, mode = 0o644) => {
    writeFileSync(join(dir, name), "x");
    return owned(join(dir, name), uid, mode);
  };
  before(() => chmodSync(dir, 0o755));
  after(cleanup);

  it("cannot check a path whose directory is missing or a symbolic link", async () => {
    assert.equal(await pathWriters(join(dir, "missing", "disk.raw"), 0), `${join(dir, "missing")} cannot be checked`);
    mkdirSync(join(dir, "real"));
    symlinkSync(join(dir, "real"), join(dir, "linked"));
    assert.equal(await pathWriters(join(dir, "linked", "disk.raw"), 0), `${join(dir, "linked")} cannot be checked`);
  });

  it(
    "names a directory of another user on the path, even one only its owner may write",
    { skip: needsRoot("to chown") },
    async () => {
      const theirs = join(dir, "theirs");
      mkdirSync(theirs);
      owned(theirs, 65534, 0o755);
      writeFileSync(join(theirs, "disk.raw"), "x");
      assert.equal(
        await otherWriters(join(theirs, "disk.raw"), statSync(join(theirs, "disk.raw"))),
        `${theirs} belongs to uid 65534`,
      );
    },
  );

  it("names the owner of a file of another user, and takes root's files", { skip: needsRoot("to chown") }, async () => {
    const foreign = file("foreign", 65534);
    assert.equal(await otherWriters(foreign, statSync(foreign)), "it belongs to uid 65534");
    assert.equal(await otherWriters(file("roots"), statSync(join(dir, "roots"))), undefined);
  });

  it(
    "trusts diskpipe's own user and root, nobody else, when diskpipe is not root",
    { skip: needsRoot("to run as another user") },
    async () => {
      const own = file("own-1000", 1000);
      const roots = file("root-owned");
      const other = file("other-1001", 1001);
      await asUser(1000, async () => {
        assert.equal(await otherWriters(own, statSync(own)), undefined);
        assert.equal(await otherWriters(roots, statSync(roots)), undefined);
        assert.equal(await otherWriters(other, statSync(other)), "it belongs to uid 1001");
      });
    },
  );

  it("trusts only root where the platform has no user ids", { skip: needsRoot("to chown") }, async () => {
    const roots = file("root-only");
    const foreign = file("foreign-no-uids", 65534);
    await withoutUids(async () => {
      assert.equal(await otherWriters(roots, statSync(roots)), undefined);
      assert.equal(await otherWriters(foreign, statSync(foreign)), "it belongs to uid 65534");
    });
  });
});
