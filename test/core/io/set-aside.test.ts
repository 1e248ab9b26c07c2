import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

  it("keeps a file aside under a hidden name in its own directory, a long name cut to fit", async () => {
    const at = join(dir, "c");
    mkdirSync(at);
    const long = "d".repeat(250);
    writeFileSync(join(at, long), "old");
    writeFileSync(join(at, "short"), "old short");
    const aside = await SetAside.of([join(at, long), join(at, "short")]);
    const names = readdirSync(at);
    assert.equal(names.length, 2);
    for (const name of names) {
      assert.ok(name.startsWith("."), name);
      assert.ok(name.length <= 255, name);
    }
    assert.ok(names.some((name) => name.startsWith(`.${"d".repeat(200)}.replaced-`)));
    assert.ok(names.some((name) => name.startsWith(".short.replaced-")));
    await aside.restore();
    assert.equal(readFileSync(join(at, long), "utf8"), "old");
    assert.equal(readFileSync(join(at, "short"), "utf8"), "old short");
    assert.deepEqual(aside.paths, []);
  });

  it("restores the others when one set aside is gone, and discards without failing on one gone", async () => {
    const at = join(dir, "d");
    mkdirSync(at);
    for (const name of ["one", "two", "three"]) writeFileSync(join(at, name), name);
    const aside = await SetAside.of(["one", "two", "three"].map((name) => join(at, name)));
    const hidden = (name: string) => readdirSync(at).find((entry) => entry.startsWith(`.${name}.replaced-`)) ?? "";
    rmSync(join(at, hidden("two")));
    await aside.restore();
    assert.deepEqual(readdirSync(at).sort(), ["one", "three"]);

    const again = await SetAside.of(["one", "three"].map((name) => join(at, name)));
    rmSync(join(at, hidden("one")));
    await again.discard();
    assert.deepEqual(readdirSync(at), []);
    assert.deepEqual(again.paths, []);
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
