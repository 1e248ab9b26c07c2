import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { extractAppliance } from "../../../src/plugins/ova/extract.ts";
import { sameDisk, tempDir } from "../../helpers/images.ts";
import { applianceMembers, manifestOf, twoVmdks, writeTar, type Member } from "./archive.ts";
import { vmwareOvf } from "./fixtures.ts";

describe("extractAppliance", () => {
  const { dir, cleanup } = tempDir("diskpipe-ova-");
  const work = join(dir, "work");
  let vmdks: Array<{ raw: string; vmdk: Buffer }> = [];
  let count = 0;
  const disks = () => [
    { href: "vm-disk1.vmdk", capacityGiB: 1, size: vmdks[0]?.vmdk.length, data: vmdks[0]?.vmdk ?? Buffer.alloc(0) },
    { href: "vm-disk2.vmdk", capacityGiB: 1, data: vmdks[1]?.vmdk ?? Buffer.alloc(0) },
  ];
  const ova = (members: Member[]) => writeTar(join(dir, `a${++count}.ova`), members);
  /** Asserts the archive is refused with `code` and leaves the work directory empty. */
  async function refused(members: Member[], code: string, message: RegExp): Promise<void> {
    await assert.rejects(extractAppliance(await ova(members), work), { code, message });
    assert.deepEqual(readdirSync(work), [], "nothing is left in the work directory");
  }

  before(() => {
    mkdirSync(work);
    vmdks = twoVmdks(dir);
  });
  after(cleanup);

  it("extracts a two-disk OVA with a manifest: each disk's bytes, in the descriptor's order, verified", async () => {
    const appliance = await extractAppliance(await ova(applianceMembers(disks())), work);
    assert.equal(appliance.verified, true);
    assert.equal(appliance.certificate, false);
    assert.deepEqual(
      appliance.disks.map(({ disk, path }) => [disk.id, path.slice(appliance.dir.length)]),
      [
        ["vmdisk1", "/disk1.vmdk"],
        ["vmdisk2", "/disk2.vmdk"],
      ],
    );
    for (const [i, { path }] of appliance.disks.entries()) {
      assert.ok(readFileSync(path).equals(vmdks[i]?.vmdk ?? Buffer.alloc(1)));
      assert.ok(sameDisk(vmdks[i]?.raw ?? "", "raw", path, "vmdk"));
    }
    assert.equal(appliance.descriptor.machine.cpus, 2);
    rmSync(appliance.dir, { recursive: true });
  });

  it("gunzips a gzip-compressed disk file and joins a chunked one, each member checked against the manifest", async () => {
    const [one, two] = disks();
    assert.ok(one && two);
    const gz = gzipSync(one.data);
    const chunkSize = Math.ceil(two.data.length / 3);
    const chunks = Array.from({ length: Math.ceil(two.data.length / chunkSize) }, (_, i) => ({
      name: `vm-disk2.vmdk.${String(i).padStart(9, "0")}`,
      data: two.data.subarray(i * chunkSize, (i + 1) * chunkSize),
    }));
    assert.ok(chunks.length >= 2, "the second disk is split");
    const ovf = {
      name: "vm.ovf",
      data: Buffer.from(
        vmwareOvf([
          { ...one, size: gz.length, gzip: true },
          { ...two, size: two.data.length },
        ]).replace('ovf:href="vm-disk2.vmdk"', `ovf:href="vm-disk2.vmdk" ovf:chunkSize="${chunkSize}"`),
      ),
    };
    const files = [{ name: "vm-disk1.vmdk", data: gz }, ...chunks];
    const appliance = await extractAppliance(
      await ova([
        ovf,
        { name: "vm.mf", data: manifestOf([ovf, ...files]) },
        { name: "vm.cert", data: Buffer.from("-----BEGIN CERTIFICATE-----\n") },
        ...files,
      ]),
      work,
    );
    assert.equal(appliance.certificate, true);
    assert.ok(readFileSync(appliance.disks[0]?.path ?? "").equals(one.data));
    assert.ok(readFileSync(appliance.disks[1]?.path ?? "").equals(two.data));
    rmSync(appliance.dir, { recursive: true });
    const shuffled: Member[] = [
      ovf,
      { name: "vm.mf", data: manifestOf([ovf, ...files]) },
      files[0],
      files[2],
      files[1],
    ].flatMap((m) => (m ? [m] : []));
    await refused(shuffled, "archive-entry", /"vm-disk2\.vmdk\.000000001" comes out of order/);
  });

  it("refuses a wrong digest, a member without one, and a manifest naming an absent member", async () => {
    const members = applianceMembers(disks());
    const tampered = members.map((m) =>
      m.name === "vm-disk2.vmdk" ? { ...m, data: Buffer.concat([m.data ?? Buffer.alloc(0), Buffer.alloc(512)]) } : m,
    );
    await refused(tampered, "checksum-mismatch", /"vm-disk2\.vmdk" does not match its digest/);
    const [ovf, , ...files] = members;
    assert.ok(ovf);
    await refused(
      [ovf, { name: "vm.mf", data: manifestOf([ovf, files[0] ?? ovf]) }, ...files],
      "checksum-mismatch",
      /no digest for "vm-disk2\.vmdk"/,
    );
    const changedOvf = { name: "vm.ovf", data: Buffer.concat([ovf.data ?? Buffer.alloc(0), Buffer.from("\n")]) };
    await refused([changedOvf, ...members.slice(1)], "checksum-mismatch", /"vm\.ovf" does not match/);
    await refused(
      [
        ovf,
        { name: "vm.mf", data: manifestOf([...members.filter((m) => m.name !== "vm.mf"), { name: "extra.iso" }]) },
        ...files,
      ],
      "archive-entry",
      /"extra\.iso" is listed in the manifest but absent/,
    );
  });

  it("refuses hostile archives: links, traversal, duplicates, a late manifest, an unreferenced member, no descriptor first", async () => {
    const members = applianceMembers(disks());
    const [ovf, mf, ...files] = members;
    assert.ok(ovf && mf);
    await refused(
      [ovf, mf, { name: "vm-disk1.vmdk", type: "symlink", linkname: "/etc/shadow" }],
      "archive-entry",
      /is a symlink/,
    );
    await refused(
      [ovf, mf, { name: "../vm-disk1.vmdk", data: Buffer.alloc(10) }],
      "archive-entry",
      /not a bare member name/,
    );
    await refused([ovf, mf, { name: "sub/", type: "directory" }], "archive-entry", /is a directory/);
    await refused([...members, members[2] ?? ovf], "archive-entry", /appears twice/);
    await refused([ovf, ...files, mf], "archive-entry", /"vm\.mf" must follow the descriptor/);
    await refused(
      [ovf, mf, { name: "notes.txt", data: Buffer.from("hi") }, ...files],
      "archive-entry",
      /not a file the descriptor references/,
    );
    await refused([mf, ovf, ...files], "archive-entry", /first member is "vm\.mf"/);
    await refused(
      [ovf, mf, files[0] ?? ovf],
      "archive-entry",
      /"vm-disk2\.vmdk", the file of disk "vmdisk2", is not in the archive/,
    );
  });

  it("refuses a decompression bomb at the disk's bound, a size unlike the declared one, and a cut archive", async () => {
    const bomb = gzipSync(Buffer.alloc(80 * 1024 * 1024));
    const ovf = {
      name: "vm.ovf",
      data: Buffer.from(
        vmwareOvf([{ href: "bomb.vmdk", capacityGiB: 1, gzip: true }]).replace(
          'ovf:capacity="1" ovf:capacityAllocationUnits="byte * 2^30"',
          'ovf:capacity="1048576" ovf:capacityAllocationUnits="byte"',
        ),
      ),
    };
    await refused([ovf, { name: "bomb.vmdk", data: bomb }], "disk-too-large", /grows past 68288512 bytes/);
    const [one] = disks();
    assert.ok(one);
    const short = { ...one, size: one.data.length + 1 };
    await refused(applianceMembers([short]), "truncated", /holds \d+ bytes, not the \d+ the descriptor declares/);
    const whole = readFileSync(await ova(applianceMembers(disks())));
    const cut = join(dir, "cut.ova");
    writeFileSync(cut, whole.subarray(0, whole.length - 3000));
    await assert.rejects(extractAppliance(cut, work), { code: "truncated" });
    assert.deepEqual(readdirSync(work), []);
    const stop = new AbortController();
    const stopped = extractAppliance(await ova(applianceMembers(disks())), work, { signal: stop.signal });
    stop.abort();
    await assert.rejects(stopped, { name: "AbortError" });
    assert.deepEqual(readdirSync(work), [], "a stopped extraction leaves nothing");
  });
});
