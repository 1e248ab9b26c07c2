import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { SetAside } from "../../../src/core/io/set-aside.ts";
import { tempDir } from "../../helpers/images.ts";

describe("SetAside", () => {
  const { dir, cleanup } = tempDir("diskpipe-set-aside-");
  after(cleanup);

  it("moves the existing files aside, restores them over what replaced them, or discards them", async () => {
    const at = join(dir, "a");
    mkdirSync(at);
    writeFileSync(join(at, "one"), "1");
    const aside = await SetAside.of([join(at, "one"), join(at, "absent")]);
    assert.deepEqual(aside.paths, [join(at, "one")]);
    assert.equal(readdirSync(at).length, 1);
    assert.ok(!readdirSync(at).includes("one"));
    writeFileSync(join(at, "one"), "new");
    await aside.restore();
    assert.deepEqual(readdirSync(at), ["one"]);
    assert.equal(readFileSync(join(at, "one"), "utf8"), "1");

    const again = await SetAside.of([join(at, "one")]);
    writeFileSync(join(at, "one"), "new");
    await again.discard();
    assert.deepEqual(readdirSync(at), ["one"]);
    assert.equal(readFileSync(join(at, "one"), "utf8"), "new");
  });

  it("puts back what it moved when a later move fails", async () => {
    const at = join(dir, "b");
    mkdirSync(at);
    writeFileSync(join(at, "one"), "1");
    // A name over the file system's limit cannot be looked at: a failure the set-aside must undo.
    const name = "x".repeat(300);
    writeFileSync(join(at, "two"), "2");
    await assert.rejects(SetAside.of([join(at, "one"), join(at, "two"), join(at, name)]));
    assert.deepEqual(readdirSync(at).sort(), ["one", "two"]);
  });
});
