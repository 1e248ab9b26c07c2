import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import fsp from "node:fs/promises";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  exists,
  moveIfPresent,
  moveNoClobber,
  present,
  removeClaimed,
  removeIfPresent,
} from "../../src/spool/claim.ts";
import { tempDir } from "../helpers/images.ts";
import { requirement } from "../helpers/requirement.ts";
import { failureOf, listening, withLink } from "./fs-hooks.ts";

/** A `link` that fails with `code`, as on a file system that refuses hard links. */
const refusal = (code: string) => async () => {
  throw Object.assign(new Error(`${code}: refused, link`), { code, syscall: "link" });
};

/** Mounts a tmpfs at `dir`; false when this process may not. */
function mountTmpfs(dir: string): boolean {
  mkdirSync(dir, { recursive: true });
  return spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", dir], { stdio: "ignore" }).status === 0;
}

describe("claim: the file steps a restart may repeat", () => {
  const { dir, cleanup } = tempDir("diskpipe-claim-");
  let n = 0;
  /** A fresh folder holding `from` (content "source") and, when asked, `to` (content "taken"). */
  const pair = (taken = false) => {
    const folder = join(dir, `case-${++n}`);
    mkdirSync(folder);
    const from = join(folder, "from");
    const to = join(folder, "to");
    writeFileSync(from, "source");
    if (taken) writeFileSync(to, "taken");
    return { folder, from, to };
  };
  after(cleanup);

  it("exists: true for anything lstat sees, strictly false otherwise", async () => {
    const { folder, from } = pair();
    symlinkSync(join(folder, "nowhere"), join(folder, "dangling"));
    assert.equal(await exists(from), true);
    assert.equal(await exists(join(folder, "dangling")), true);
    assert.equal(await exists(join(folder, "missing")), false);
    assert.equal(await exists(join(folder, "x".repeat(300))), false);
  });

  it("present: false only when surely absent (ENOENT, ENOTDIR); any other error is thrown", async () => {
    const { folder, from } = pair();
    assert.equal(await present(from), true);
    assert.equal(await present(join(folder, "missing")), false);
    assert.equal(await present(join(from, "below-a-file")), false);
    assert.equal((await failureOf(present(join(folder, "x".repeat(300))))).code, "ENAMETOOLONG");
  });

  it("moveIfPresent: moves and says so, answers false for a file already gone, throws anything else", async () => {
    const { folder, from, to } = pair();
    assert.equal(await moveIfPresent(from, to), true);
    assert.equal(readFileSync(to, "utf8"), "source");
    assert.equal(await moveIfPresent(from, to), false);
    mkdirSync(join(folder, "full", "inside"), { recursive: true });
    assert.match((await failureOf(moveIfPresent(to, join(folder, "full")))).code ?? "", /^(ENOTEMPTY|EISDIR|EEXIST)$/);
    assert.equal(readFileSync(to, "utf8"), "source", "the file stays where it was");
  });

  it("moveNoClobber: moves to a free name, and leaves both files when the name is taken (EEXIST)", async () => {
    const free = pair();
    await moveNoClobber(free.from, free.to);
    assert.deepEqual(readdirSync(free.folder), ["to"]);
    assert.equal(readFileSync(free.to, "utf8"), "source");
    const taken = pair(true);
    assert.equal((await failureOf(moveNoClobber(taken.from, taken.to))).code, "EEXIST");
    assert.equal(readFileSync(taken.from, "utf8"), "source");
    assert.equal(readFileSync(taken.to, "utf8"), "taken");
  });

  it("moveNoClobber: a directory (no hard links to directories: EPERM) is moved by the check-then-rename, never over one", async () => {
    const { folder } = pair();
    mkdirSync(join(folder, "a", "inside"), { recursive: true });
    await moveNoClobber(join(folder, "a"), join(folder, "b"));
    assert.deepEqual(readdirSync(join(folder, "b")), ["inside"]);
    mkdirSync(join(folder, "c"));
    assert.equal((await failureOf(moveNoClobber(join(folder, "b"), join(folder, "c")))).code, "EEXIST");
    assert.deepEqual(readdirSync(join(folder, "b")), ["inside"], "the empty directory was not replaced");
  });

  // EPERM: vfat and the like; EXDEV: AFS, which refuses hard links across directories but renames.
  for (const code of ["ENOTSUP", "EPERM", "EXDEV"]) {
    it(`moveNoClobber where the file system refuses the hard link (${code}): moves, and anything at the name counts as taken`, async () => {
      const free = pair();
      await withLink(refusal(code), () => moveNoClobber(free.from, free.to));
      assert.deepEqual(readdirSync(free.folder), ["to"]);
      assert.equal(readFileSync(free.to, "utf8"), "source");

      const dangling = pair();
      symlinkSync(join(dangling.folder, "nowhere"), dangling.to);
      assert.equal(
        (await failureOf(withLink(refusal(code), () => moveNoClobber(dangling.from, dangling.to)))).code,
        "EEXIST",
      );
      assert.equal(readFileSync(dangling.from, "utf8"), "source");
      assert.ok((await fsp.lstat(dangling.to)).isSymbolicLink(), "the dangling link was replaced");

      const socket = pair();
      const server = await listening(socket.to);
      try {
        assert.equal(
          (await failureOf(withLink(refusal(code), () => moveNoClobber(socket.from, socket.to)))).code,
          "EEXIST",
        );
        assert.ok((await fsp.lstat(socket.to)).isSocket(), "the socket was replaced");
        assert.equal(readFileSync(socket.from, "utf8"), "source");
      } finally {
        server.close();
      }
    });
  }

  it("moveNoClobber: any other failure of the link is thrown, and nothing moves", async () => {
    const { folder, from } = pair();
    assert.equal(
      (await failureOf(withLink(refusal("EIO"), () => moveNoClobber(from, join(folder, "to"))))).code,
      "EIO",
    );
    assert.deepEqual(readdirSync(folder), ["from"]);
  });

  it("removeIfPresent and removeClaimed: remove a file and its sidecar; a missing one, or a name too long for a sidecar, is fine", async () => {
    const { folder, from } = pair();
    writeFileSync(`${from}.json`, "{}");
    await removeClaimed(from);
    assert.deepEqual(readdirSync(folder), []);
    await removeIfPresent(from);
    await removeClaimed(from);
    const long = join(folder, "l".repeat(255));
    writeFileSync(long, "source");
    await removeClaimed(long);
    assert.deepEqual(readdirSync(folder), []);
  });
});

const probe = tempDir("diskpipe-claim-probe-");
const canMount = process.getuid?.() === 0 && mountTmpfs(join(probe.dir, "m"));
if (canMount) spawnSync("umount", [join(probe.dir, "m")]);
probe.cleanup();

describe(
  "claim: moveNoClobber across two file systems (EXDEV)",
  { skip: requirement(canMount ? false : "needs root to mount a small tmpfs (mount -t tmpfs)") },
  () => {
    const { dir, cleanup } = tempDir("diskpipe-claim-xdev-");
    const other = join(dir, "tmpfs");
    after(() => {
      spawnSync("umount", [other]);
      cleanup();
    });

    it("never loses the file: a free name fails with EXDEV (rename cannot cross either), a taken one with EEXIST, both files kept", async () => {
      assert.ok(mountTmpfs(other));
      const from = join(dir, "from");
      writeFileSync(from, "source");
      assert.equal((await failureOf(moveNoClobber(from, join(other, "free")))).code, "EXDEV");
      assert.equal(readFileSync(from, "utf8"), "source");
      assert.deepEqual(readdirSync(other), []);
      writeFileSync(join(other, "taken"), "taken");
      assert.equal((await failureOf(moveNoClobber(from, join(other, "taken")))).code, "EEXIST");
      assert.equal(readFileSync(from, "utf8"), "source");
      assert.equal(readFileSync(join(other, "taken"), "utf8"), "taken");
    });
  },
);
