import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { inspectUrl } from "../../../src/core/io/inspect-stream.ts";
import { otherWriters } from "../../../src/core/io/other-writers.ts";
import { pinSource } from "../../../src/core/io/pin-source.ts";
import { prepareWorkRoot } from "../../../src/core/io/work-root.ts";
import { createPipeline } from "../../../src/create-pipeline.ts";
import {
  canSwitchUser,
  hasStrace,
  leaks,
  NOBODY,
  opensOf,
  RACE_SIZE,
  raceImages,
  raceQemu,
  startAttacker,
  type StrikePoint,
} from "../../helpers/attacker.ts";
import { failure } from "../../helpers/failure.ts";
import { tempDir } from "../../helpers/images.ts";

describe("local sources: what qemu-img reads is what the inspector accepted", () => {
  const { dir, cleanup } = tempDir();
  let images: ReturnType<typeof raceImages>;
  const drop = join(dir, "drop");

  before(() => {
    chmodSync(dir, 0o755);
    images = raceImages(dir);
    mkdirSync(drop, { mode: 0o777 });
    chmodSync(drop, 0o777);
  });
  after(cleanup);

  const points: StrikePoint[] = ["info-start", "after-info", "convert-start"];
  for (const when of points) {
    it(`a writer of another user holding a descriptor rewrites the header (${when}): no foreign file is read`, async (t) => {
      if (!canSwitchUser()) return t.skip("needs root");
      const source = join(drop, `${when}.qcow2`);
      const attacker = await startAttacker(dir, source, images.evil, images.good);
      const traces = mkdtempSync(join(dir, "traces-"));
      const pipeline = createPipeline({
        workDir: join(dir, "work"),
        qemuImg: { binary: raceQemu(traces, attacker, when) },
      });
      const destination = join(dir, `${when}.raw`);
      try {
        await pipeline.run({ source, destination, to: "raw" });
      } finally {
        attacker.stop();
      }
      assert.ok(attacker.struck, "the attacker never struck");
      const output = readFileSync(destination);
      assert.equal(leaks(output, images.secretBytes), false, "the output holds the secret file's bytes");
      assert.ok(
        output.equals(Buffer.alloc(RACE_SIZE)),
        "the output is not the image that was inspected (an empty disk)",
      );
      const opens = opensOf(traces, images.secret);
      assert.deepEqual(opens.lines, [], "qemu-img opened the secret file");
      if (hasStrace()) assert.ok(opens.logs >= 2, "strace logged fewer qemu-img runs than info and convert");
    });
  }
});

describe("pinning a local source: in place only when nobody else can change it", () => {
  const { dir, cleanup } = tempDir();
  const job = join(dir, "job");
  before(() => {
    chmodSync(dir, 0o755);
    mkdirSync(job, { mode: 0o700 });
  });
  after(cleanup);

  const fresh = (name: string, mode = 0o644) => {
    const path = join(dir, name);
    writeFileSync(path, Buffer.alloc(4096, 7), { mode });
    chmodSync(path, mode);
    return path;
  };

  it("uses the operator's own file in place: no copy", async () => {
    const path = fresh("own.raw");
    assert.equal(await otherWriters(path, statSync(path)), undefined);
    const pinned = await pinSource(path, job);
    assert.deepEqual(pinned, { path });
  });

  it("snapshots a file others may write, and a file of another user, from the descriptor it opened", async (t) => {
    const open = fresh("shared.raw", 0o666);
    assert.match(String(await otherWriters(open, statSync(open))), /group or others may write/);
    const pinned = await pinSource(open, job);
    assert.equal(pinned.path, join(job, "source"));
    assert.ok(pinned.snapshot === "copy" || pinned.snapshot === "reflink");
    assert.equal(statSync(pinned.path).mode & 0o777, 0o600, "the snapshot is private");
    assert.ok(readFileSync(pinned.path).equals(readFileSync(open)));
    rmSync(pinned.path);
    if (!canSwitchUser()) return t.skip("needs root for a file of another user");
    const foreign = fresh("foreign.raw");
    chownSync(foreign, NOBODY.uid, NOBODY.gid);
    assert.match(String(await otherWriters(foreign, statSync(foreign))), /belongs to uid 65534/);
    assert.equal((await pinSource(foreign, job)).snapshot !== undefined, true);
    rmSync(join(job, "source"));
  });

  it("snapshots a file in a directory others can rename entries of, unless the directory is sticky", async () => {
    const shared = join(dir, "shared-dir");
    mkdirSync(shared, { mode: 0o777 });
    chmodSync(shared, 0o777);
    const path = join(shared, "x.raw");
    writeFileSync(path, "x", { mode: 0o644 });
    assert.match(String(await otherWriters(path, statSync(path))), /others may rename entries of/);
    chmodSync(shared, 0o1777);
    assert.equal(
      await otherWriters(path, statSync(path)),
      undefined,
      "a sticky directory protects an entry of a trusted user",
    );
  });

  it("refuses a FIFO and a character device at once, without blocking", async () => {
    const fifo = join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    const started = Date.now();
    for (const path of [fifo, "/dev/zero"]) {
      const error = await failure(pinSource(path, job));
      assert.equal(error.code, "fetch-failed");
      assert.match(error.message, /not a regular file or block device \((FIFO|character device)\)/);
    }
    assert.ok(Date.now() - started < 5000);
  });
});

describe("the work root: private to diskpipe's user", () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);

  it("refuses / as workDir, a workDir that is a file or a link, and a work root others control", async (t) => {
    for (const [workDir, pattern] of [
      ["/", /workDir: \/ is the root of the file system/],
      [fresh(join(dir, "file")), /is not a directory/],
      [link(join(dir, "real"), join(dir, "link")), /is a symbolic link/],
    ] as const) {
      const error = await failure(prepareWorkRoot(workDir));
      assert.equal(error.code, "config-invalid");
      assert.match(error.message, pattern);
      assert.doesNotMatch(error.message, /\n/);
    }
    const loose = join(dir, "loose");
    mkdirSync(join(loose, "diskpipe"), { recursive: true, mode: 0o777 });
    chmodSync(join(loose, "diskpipe"), 0o777);
    assert.match((await failure(prepareWorkRoot(loose))).message, /writable by group or others/);
    if (!canSwitchUser()) return t.skip("needs root for a work root of another user");
    chmodSync(join(loose, "diskpipe"), 0o700);
    chownSync(join(loose, "diskpipe"), NOBODY.uid, NOBODY.gid);
    assert.match((await failure(prepareWorkRoot(loose))).message, /belongs to uid 65534/);
  });

  it("refuses a work root whose parents others can rename entries of, and notices a work root swapped between jobs", async () => {
    const open = join(dir, "open");
    mkdirSync(join(open, "wd"), { recursive: true });
    chmodSync(open, 0o777);
    const error = await failure(prepareWorkRoot(join(open, "wd")));
    assert.equal(error.code, "config-invalid");
    assert.match(error.message, /within others' reach \(others may rename entries of .*open\)/);

    const wd = join(dir, "swapped");
    const source = join(dir, "small.raw");
    writeFileSync(source, Buffer.alloc(4096, 1));
    const pipeline = createPipeline({ workDir: wd });
    await pipeline.run({ source, destination: join(dir, "first.raw"), to: "raw" });
    renameSync(join(wd, "diskpipe"), join(wd, "old"));
    mkdirSync(join(wd, "diskpipe"), { mode: 0o700 });
    const swapped = await failure(pipeline.run({ source, destination: join(dir, "second.raw"), to: "raw" }));
    assert.equal(swapped.code, "config-invalid");
    assert.match(swapped.message, /was replaced/);
  });

  it("inspects a URL only in a private work root: one of another user is refused, never written into", async (t) => {
    if (!canSwitchUser()) return t.skip("needs root for a directory of another user");
    const taken = join(dir, "taken");
    mkdirSync(taken, { mode: 0o700 });
    chownSync(taken, NOBODY.uid, NOBODY.gid);
    const error = await failure(inspectUrl("http://127.0.0.1:9/never", {}, { directory: taken }));
    assert.equal(error.code, "config-invalid");
    assert.match(error.message, /belongs to uid 65534/);
    assert.deepEqual(readdirSync(taken), []);
  });

  it("makes a fresh work root with mode 0700", async () => {
    const root = await prepareWorkRoot(join(dir, "fresh"));
    assert.equal(statSync(root).mode & 0o777, 0o700);
  });

  function fresh(path: string): string {
    writeFileSync(path, "");
    return path;
  }
  function link(target: string, path: string): string {
    mkdirSync(target);
    symlinkSync(target, path);
    return path;
  }
});
