import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  closeSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pinSource } from "../../../src/core/io/pin-source.ts";
import { freeLoopDevice, mountPlace } from "../../helpers/devices.ts";
import { needsRoot } from "../../helpers/process-state.ts";
import { onRealpath } from "../../helpers/realpath-hook.ts";
import { requirement } from "../../helpers/requirement.ts";

const hasMkfsBtrfs = spawnSync("sh", ["-c", "command -v mkfs.btrfs"], { stdio: "ignore" }).status === 0;

describe("pinSource with devices and other file systems", { skip: needsRoot("device nodes and mounts") }, () => {
  let place: ReturnType<typeof mountPlace>;
  before(() => {
    place = mountPlace();
    chmodSync(place.dir, 0o755);
  });
  after(() => place.cleanup());

  it("uses a block device in place, even through a device node others may write", async () => {
    const { rdev } = statSync(freeLoopDevice());
    const node = join(place.dir, "node");
    execFileSync("mknod", [
      "-m",
      "666",
      node,
      "b",
      String((rdev >> 8) & 0xfff),
      String((rdev & 0xff) | ((rdev >> 12) & 0xfff00)),
    ]);
    const job = join(place.dir, "job-device");
    mkdirSync(job);
    assert.deepEqual(await pinSource(node, job), { path: node });
    assert.deepEqual(readdirSync(job), []);
  });

  it("snapshots a file whose path now names a file of another device with the same inode number", async () => {
    const a = place.mount("tmpfs-a", ["-t", "tmpfs", "-o", "size=1m,mode=755", "tmpfs"]);
    const b = place.mount("tmpfs-b", ["-t", "tmpfs", "-o", "size=1m,mode=755", "tmpfs"]);
    const location = join(a, "disk");
    writeFileSync(location, "accepted");
    const { ino } = statSync(location);
    let twin = "";
    for (let i = 0; i < 64 && !twin; i++) {
      writeFileSync(join(b, `f${i}`), "twin");
      if (statSync(join(b, `f${i}`)).ino === ino) twin = join(b, `f${i}`);
    }
    assert.ok(twin, `no file on the second tmpfs got inode ${ino}`);
    const job = join(place.dir, "job-twin");
    mkdirSync(job);
    const swap = () => {
      unlinkSync(location);
      symlinkSync(twin, location);
    };
    const pinned = await onRealpath({ before: swap }, () => pinSource(location, job));
    assert.equal(pinned.path, join(job, "source"));
    assert.equal(pinned.why, "its path changed while diskpipe opened it");
    assert.equal(readFileSync(pinned.path, "utf8"), "accepted");
  });

  it(
    "clones a file others may write on btrfs (a reflink): later writes to the original do not reach it",
    { skip: requirement(hasMkfsBtrfs ? false : "mkfs.btrfs is missing (npm test installs btrfs-progs)") },
    async () => {
      const image = join(place.dir, "btrfs.img");
      const fd = openSync(image, "w");
      ftruncateSync(fd, 128 * 1024 * 1024);
      closeSync(fd);
      execFileSync("mkfs.btrfs", ["-q", image]);
      const fs = place.mount("btrfs", ["-o", "loop", image]);
      const shared = join(fs, "shared.raw");
      writeFileSync(shared, Buffer.alloc(1024 * 1024, 7));
      chmodSync(shared, 0o666);
      const job = join(fs, "job");
      mkdirSync(job, { mode: 0o700 });
      const pinned = await pinSource(shared, job);
      assert.deepEqual(pinned, {
        path: join(job, "source"),
        snapshot: "reflink",
        why: "its group or others may write it",
      });
      assert.equal(statSync(pinned.path).mode & 0o777, 0o600);
      const writer = openSync(shared, "r+");
      writeSync(writer, Buffer.alloc(4096, 9), 0, 4096, 0);
      closeSync(writer);
      assert.ok(readFileSync(pinned.path).equals(Buffer.alloc(1024 * 1024, 7)));
    },
  );
});
