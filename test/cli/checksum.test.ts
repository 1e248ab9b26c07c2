import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { referenceContentHash } from "../helpers/content-hash.ts";
import { diskpipe } from "../helpers/cli.ts";
import { listDir, makeBackedQcow2, makeImage, makeLuks, makeRaw, tempDir } from "../helpers/images.ts";

describe("diskpipe checksum (the built CLI)", () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);
  const raw = makeRaw(join(dir, "disk.raw"), 3 * 1024 * 1024 + 512, 7);
  const qcow2 = makeImage(raw, "qcow2", join(dir, "disk.qcow2"));
  const vmdk = makeImage(raw, "vmdk", join(dir, "disk.vmdk"), ["-o", "subformat=streamOptimized"]);
  const expected = referenceContentHash(readFileSync(raw));

  it("prints one line per image, the same content hash for a disk in any format", () => {
    const run = diskpipe(["checksum", qcow2, raw, vmdk]);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, `${expected} ${qcow2}\n${expected} ${raw}\n${expected} ${vmdk}\n`);
  });

  it("--json gives { file, format, virtualSize, contentHash, ms } per image", () => {
    const run = diskpipe(["checksum", "--json", vmdk]);
    assert.equal(run.status, 0, run.stderr);
    const line = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(line), ["file", "format", "virtualSize", "contentHash", "ms"]);
    assert.deepEqual(
      { ...line, ms: 0 },
      { file: vmdk, format: "vmdk", virtualSize: 3 * 1024 * 1024 + 512, contentHash: expected, ms: 0 },
    );
    assert.equal(typeof line.ms, "number");
  });

  it("a refused image gives the usual one-line error and exit 3; the others are still hashed", () => {
    const evil = makeBackedQcow2(dir);
    const before = listDir(dir);
    const run = diskpipe(["checksum", evil, raw]);
    assert.equal(run.status, 3);
    assert.equal(run.stdout, `${expected} ${raw}\n`);
    assert.match(run.stderr, /^diskpipe: .*evil\.qcow2 rejected: .*\[qcow2-backing-file\] \[image-rejected\]\n$/);
    assert.deepEqual(listDir(dir), before);
  });

  it("an encrypted image is a usage error naming what to do instead (its key is needed)", () => {
    const secret = join(dir, "secret");
    writeFileSync(secret, "pass");
    const encrypted = makeLuks(join(dir, "disk.luks"), secret, "1M");
    const run = diskpipe(["checksum", encrypted]);
    assert.equal(run.status, 2);
    assert.match(
      run.stderr,
      /is encrypted \(luks\): its content hash needs its key; convert it with --verify .*\[usage\]\n$/,
    );
  });

  it("a claimed format the image is not is refused (exit 3)", () => {
    const run = diskpipe(["checksum", "--format", "vmdk", qcow2]);
    assert.equal(run.status, 3);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /\[format-mismatch\]\n$/);
  });
});
