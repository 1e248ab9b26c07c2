import assert from "node:assert/strict";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { findProgram } from "../../../src/core/io/find-program.ts";
import { tempDir } from "../../helpers/images.ts";

describe("findProgram: where a program is", () => {
  const { dir, cleanup } = tempDir("diskpipe-find-program-");
  after(cleanup);
  const first = join(dir, "first");
  const second = join(dir, "second");
  mkdirSync(first);
  mkdirSync(second);
  writeFileSync(join(first, "tool"), "#!/bin/sh\n", { mode: 0o644 });
  writeFileSync(join(second, "tool"), "#!/bin/sh\n", { mode: 0o755 });
  writeFileSync(join(first, "both"), "#!/bin/sh\n", { mode: 0o755 });
  writeFileSync(join(second, "both"), "#!/bin/sh\n", { mode: 0o755 });

  it("takes the first executable along PATH, passing over one that cannot be run", () => {
    const path = [join(dir, "missing"), first, "", second].join(":");
    assert.equal(findProgram("tool", path), join(second, "tool"));
    assert.equal(findProgram("both", path), join(first, "both"));
  });

  it("is undefined when nothing on PATH is executable, or PATH is empty", () => {
    assert.equal(findProgram("tool", first), undefined);
    assert.equal(findProgram("tool", ""), undefined);
  });

  it("takes an absolute path as it is, only when executable", () => {
    assert.equal(findProgram(join(second, "tool"), ""), join(second, "tool"));
    chmodSync(join(second, "tool"), 0o644);
    assert.equal(findProgram(join(second, "tool"), second), undefined);
  });
});
