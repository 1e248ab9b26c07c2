import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { diskpipe } from "../../helpers/cli.ts";
import { qemuImg, tempDir } from "../../helpers/images.ts";
import { tarball } from "../../helpers/tar.ts";
import { writeTar, type Member } from "./archive.ts";
import { vmwareOvf } from "./fixtures.ts";

const MiB = 1024 * 1024;

/**
 * Attacks on a disk read where it lies in the OVA (a byte range of the archive handed to qemu-img
 * as `file.driver=raw,file.offset,file.size`): what qemu-img converts is never a byte outside the
 * member that was streamed, inspected and accepted.
 */
describe("diskpipe convert X.ova with plain disks read in place, against hostile members", () => {
  const { dir, cleanup } = tempDir("diskpipe-ova-in-place-attacks-");
  const work = join(dir, "work");
  const config = join(dir, "work.config.mjs");
  let qcow2 = Buffer.alloc(0);
  /** Where the qcow2's second data run (guest bytes 2 MiB to 3 MiB) lies in its file. */
  let secondRun = 0;
  let count = 0;

  before(() => {
    writeFileSync(config, `export default { workDir: ${JSON.stringify(work)} };\n`);
    const path = join(dir, "two-runs.qcow2");
    // Guest 0-1 MiB of 0x41, 2-3 MiB of 0x42: two data runs, the second after the first in the file.
    const raw = Buffer.alloc(4 * MiB);
    raw.fill(0x41, 0, MiB);
    raw.fill(0x42, 2 * MiB, 3 * MiB);
    writeFileSync(join(dir, "two-runs.raw"), raw);
    qemuImg("convert", "-q", "-f", "raw", "-O", "qcow2", join(dir, "two-runs.raw"), path);
    qcow2 = readFileSync(path);
    const map = JSON.parse(qemuImg("map", "--output=json", "-f", "qcow2", path)) as Array<{
      start: number;
      data: boolean;
      offset?: number;
    }>;
    secondRun = map.find((extent) => extent.start === 2 * MiB && extent.data)?.offset ?? 0;
    assert.ok(secondRun > MiB, "the second data run lies past the first");
  });
  after(cleanup);

  /** An OVA of one qcow2 disk (`disk`) and, after it, a referenced file that is no disk (`next`). */
  async function ova(name: string, disk: Buffer, next: Buffer): Promise<string> {
    const ovf = vmwareOvf([{ href: "vm-disk1.qcow2", capacityGiB: 0, capacityBytes: 4 * MiB }])
      .replace("vmdk.html#streamOptimized", "qcow2")
      .replace("</References>", '<File ovf:href="notes.bin" ovf:id="file9"/>\n  </References>');
    const members: Member[] = [
      { name: "vm.ovf", data: Buffer.from(ovf) },
      { name: "vm-disk1.qcow2", data: disk },
      { name: "notes.bin", data: next },
    ];
    const at = join(dir, `case${++count}`);
    mkdirSync(at);
    return writeTar(join(at, name), members);
  }

  const leftInWork = () => (existsSync(join(work, "diskpipe")) ? readdirSync(join(work, "diskpipe")) : []);

  it("a qcow2 cut short so that its second data run is the next member's data: qemu-img reads zeros there, never the next member", async () => {
    // The member ends 512 bytes before the run; the next member's header fills those 512 bytes, so
    // its data starts exactly where the qcow2's L2 table points: in the archive, past the range.
    const archive = await ova("vm.ova", qcow2.subarray(0, secondRun - 512), Buffer.alloc(MiB, 0x43));
    const held = readFileSync(archive);
    assert.equal(held[held.indexOf(Buffer.alloc(4096, 0x43))], 0x43, "the next member's bytes are in the archive");
    const out = join(dirname(archive), "out");
    mkdirSync(out);
    const run = diskpipe(["--config", config, "convert", archive, join(out, "vm.raw"), "--to", "raw", "-q"]);
    assert.deepEqual(leftInWork(), []);
    if (run.status !== 0) {
      // Refusing the cut image is as safe: one line, a code, nothing written.
      assert.match(run.stderr.trim(), /^diskpipe: [^\n]*\[[a-z-]+\]$/, run.stderr);
      assert.deepEqual(readdirSync(out), []);
      return;
    }
    const converted = readFileSync(join(out, "vm-disk1.raw"));
    assert.equal(converted.length, 4 * MiB);
    assert.equal(converted.indexOf(0x43), -1, "a byte of the next member reached the output");
    assert.ok(
      converted.subarray(0, MiB - 512).equals(Buffer.alloc(MiB - 512, 0x41)),
      "the data inside the member converted",
    );
  });

  it("an archive whose path has commas, '=' and a json: or nbd: prefix is read as that file (qemu's option escaping)", async () => {
    for (const name of ['json:{"driver":"null-co"},a=b.ova', "nbd:127.0.0.1:1,x=y.ova"]) {
      const archive = await ova(name, qcow2, Buffer.alloc(512, 0x43));
      const at = dirname(archive);
      const run = diskpipe(["--config", config, "convert", name, "out.raw", "--to", "raw", "-q"], { cwd: at });
      assert.equal(run.status, 0, run.stderr);
      const converted = readFileSync(join(at, "out-disk1.raw"));
      assert.ok(converted.subarray(2 * MiB, 3 * MiB).equals(Buffer.alloc(MiB, 0x42)), `${name}: the disk as stored`);
      assert.deepEqual(leftInWork(), []);
    }
  });

  it("a pax header whose size overrides the disk member's (negative, not a number, huge, short, long): refused in one line, or the streamed bytes converted", async () => {
    const ovf = vmwareOvf([{ href: "vm-disk1.qcow2", capacityGiB: 0, capacityBytes: 4 * MiB }]).replace(
      "vmdk.html#streamOptimized",
      "qcow2",
    );
    const expected = Buffer.alloc(4 * MiB);
    expected.fill(0x41, 0, MiB);
    expected.fill(0x42, 2 * MiB, 3 * MiB);
    const sizes = [
      "-1",
      "abc",
      "99999999999999999999",
      "1e3",
      String(qcow2.length - 4096),
      String(qcow2.length + 1024),
    ];
    for (const [i, size] of sizes.entries()) {
      const at = join(dir, `pax${i}`);
      mkdirSync(at);
      const archive = join(at, "vm.ova");
      writeFileSync(
        archive,
        await tarball(
          [
            { header: { name: "vm.ovf" }, data: Buffer.from(ovf) },
            { header: { name: "vm-disk1.qcow2", pax: { size } }, data: qcow2 },
            { header: { name: "notes.txt" }, data: Buffer.alloc(2048, 0x43) },
          ],
          false,
        ),
      );
      const run = diskpipe(["--config", config, "convert", archive, join(at, "vm.raw"), "--to", "raw", "-q"]);
      assert.deepEqual(leftInWork(), [], size);
      if (run.status !== 0) {
        assert.match(run.stderr.trim(), /^diskpipe: [^\n]*\[[a-z-]+\]$/, `${size}: ${run.stderr}`);
        assert.deepEqual(readdirSync(at), ["vm.ova"], size);
        continue;
      }
      // Accepted: what converted is the member as tar-stream streamed it, never a byte of the next member.
      const converted = readFileSync(join(at, "vm-disk1.raw"));
      assert.equal(converted.indexOf(0x43), -1, `${size}: a byte of the next member reached the output`);
      assert.ok(converted.equals(expected), `${size}: the disk as stored`);
    }
  });
});
