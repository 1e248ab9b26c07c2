import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { parseDescriptor } from "../../../src/plugins/ova/descriptor.ts";
import { extractAppliance, type ExtractOptions } from "../../../src/plugins/ova/extract.ts";
import { tempDir } from "../../helpers/images.ts";
import { manifestOf, writeTar, type Member } from "./archive.ts";
import { vmwareOvf } from "./fixtures.ts";

const MiB = 1024 * 1024;

/** A one-disk descriptor whose disk file is `href`, of `capacity` bytes, with extra File attributes. */
function oneDisk(href: string, capacity: number, attributes = ""): Buffer {
  return Buffer.from(
    vmwareOvf([{ href, capacityGiB: 1 }])
      .replace('ovf:capacity="1" ovf:capacityAllocationUnits="byte * 2^30"', `ovf:capacity="${capacity}"`)
      .replace(`ovf:href="${href}"`, `ovf:href="${href}"${attributes}`),
  );
}

describe("extractAppliance against hostile appliances", () => {
  const { dir, cleanup } = tempDir("diskpipe-ova-attack-");
  const work = join(dir, "work");
  let count = 0;
  before(() => mkdirSync(work));
  after(cleanup);

  async function refused(members: Member[], code: string, message: RegExp, options?: ExtractOptions): Promise<void> {
    const path = await writeTar(join(dir, `a${++count}.ova`), members);
    await assert.rejects(extractAppliance(path, work, options), { code, message });
    assert.deepEqual(readdirSync(work), [], "nothing is left in the work directory");
  }

  it("bounds what a disk stores by the archive, not by the capacity the descriptor claims", async () => {
    const bomb = gzipSync(Buffer.alloc(100 * MiB, 0x41));
    const huge = oneDisk("d.vmdk", 2 ** 52, ' ovf:compression="gzip"');
    await refused(
      [
        { name: "vm.ovf", data: huge },
        { name: "d.vmdk", data: bomb },
      ],
      "decompression-bomb",
      /more than \d+ bytes of data, 100 times/,
    );
    await refused(
      [
        { name: "vm.ovf", data: oneDisk("d.vmdk", 16 * 2 ** 30) },
        { name: "d.vmdk", data: Buffer.alloc(10) },
      ],
      "disk-too-large",
      /capacity of 17179869184 bytes, more than the 1073741824 allowed/,
      { maxDiskSize: 2 ** 30 },
    );
    // Zeros are holes: a mostly empty disk expands far more than 100× and is accepted.
    const zeros = gzipSync(Buffer.alloc(200 * MiB));
    const path = await writeTar(join(dir, "zeros.ova"), [
      { name: "vm.ovf", data: oneDisk("z.vmdk", 2 ** 30, ' ovf:compression="gzip"') },
      { name: "z.vmdk", data: zeros },
    ]);
    const appliance = await extractAppliance(path, work);
    const written = statSync(appliance.disks[0]?.path ?? "", { bigint: true });
    assert.equal(written.size, BigInt(200 * MiB));
    assert.ok(written.blocks * 512n < BigInt(MiB), "the zeros were left as holes");
    rmSync(appliance.dir, { recursive: true });
  });

  it("refuses data after the end of a gzip member, whatever the read size", async () => {
    const data = Buffer.concat([gzipSync(Buffer.alloc(MiB, 7)), Buffer.from([0]), Buffer.alloc(MiB, 0x58)]);
    const ovf = { name: "vm.ovf", data: oneDisk("d.vmdk", MiB, ' ovf:compression="gzip"') };
    await refused([ovf, { name: "d.vmdk", data }], "archive-entry", /data after the end of its gzip stream/);
    const archive = readFileSync(await writeTar(join(dir, "trailing.ova"), [ovf, { name: "d.vmdk", data }]));
    for (const piece of [4096, MiB]) {
      const pieces = (async function* () {
        for (let at = 0; at < archive.length; at += piece) yield archive.subarray(at, at + piece);
      })();
      await assert.rejects(
        extractAppliance(pieces, work),
        { code: "archive-entry", message: /after the end/ },
        `${piece}`,
      );
      assert.deepEqual(readdirSync(work), []);
    }
  });

  it("checks chunks: each but the last exactly chunkSize, none missing, no file named like another's chunk", async () => {
    const data = Buffer.alloc(3 * 4096, 9);
    const chunked = (size: number) => oneDisk("c.vmdk", MiB, ` ovf:size="${size}" ovf:chunkSize="4096"`);
    const chunk = (i: number, bytes: Buffer) => ({ name: `c.vmdk.${String(i).padStart(9, "0")}`, data: bytes });
    await refused(
      [
        { name: "vm.ovf", data: chunked(data.length) },
        chunk(0, data.subarray(0, 4096)),
        chunk(1, data.subarray(4096, 8192)),
      ],
      "truncated",
      /holds 8192 bytes, not the 12288/,
    );
    await refused(
      [
        { name: "vm.ovf", data: chunked(data.length) },
        chunk(0, data.subarray(0, 4000)),
        chunk(1, data.subarray(4000, 12288)),
      ],
      "archive-entry",
      /is not 4096 bytes|larger than the 4096-byte chunks/,
    );
    assert.throws(() => parseDescriptor(oneDisk("c.vmdk", MiB, ' ovf:chunkSize="4096"').toString()), {
      code: "ova-descriptor-invalid",
      message: /chunked but declares no ovf:size/,
    });
    const twoNames = oneDisk("c.vmdk", MiB, ` ovf:size="4096" ovf:chunkSize="4096"`)
      .toString()
      .replace("<References>", '<References><File ovf:id="shadow" ovf:href="c.vmdk.000000000"/>');
    assert.throws(() => parseDescriptor(twoNames), {
      code: "ova-descriptor-invalid",
      message: /name of a chunk of another file/,
    });
  });

  it("takes a chunked file no disk uses (an ISO): checked, counted, not kept", async () => {
    const ovf = Buffer.from(
      oneDisk("d.vmdk", MiB)
        .toString()
        .replace(
          "<References>",
          '<References><File ovf:id="iso" ovf:href="tools.iso" ovf:size="6000" ovf:chunkSize="4096"/>',
        ),
    );
    const members = [
      { name: "vm.ovf", data: ovf },
      { name: "tools.iso.000000000", data: Buffer.alloc(4096, 1) },
      { name: "tools.iso.000000001", data: Buffer.alloc(1904, 2) },
      { name: "d.vmdk", data: Buffer.alloc(4096, 3) },
    ];
    const path = await writeTar(
      join(dir, "iso.ova"),
      [members[0] ?? members[1], { name: "vm.mf", data: manifestOf(members) }, ...members.slice(1)].flatMap((m) =>
        m ? [m] : [],
      ),
    );
    const appliance = await extractAppliance(path, work);
    assert.deepEqual(readdirSync(appliance.dir), ["disk1.vmdk"]);
    rmSync(appliance.dir, { recursive: true });
  });

  it("quotes what the appliance says in its refusals, and refuses a second certificate", async () => {
    const evil = vmwareOvf([{ href: "a.vmdk", capacityGiB: 1 }])
      .replace('ovf:id="file1"', 'ovf:id="\u001b[31mx\n"')
      .replace('ovf:fileRef="file1"', 'ovf:fileRef="\u001b[31mx\n"');
    const twice = evil.replace("<References>", '<References><File ovf:id="\u001b[31mx\n" ovf:href="b.vmdk"/>');
    assert.throws(
      () => parseDescriptor(twice),
      (error: Error) =>
        /two files have the id "\\u001b\[31mx"/.test(error.message) && !error.message.includes("\u001b"),
    );
    assert.throws(
      () =>
        parseDescriptor(
          evil.replace('ovf:capacityAllocationUnits="byte * 2^30"', 'ovf:capacityAllocationUnits="constructor"'),
        ),
      { message: /has the units "constructor"/ },
    );
    const ovf = { name: "vm.ovf", data: oneDisk("d.vmdk", MiB) };
    const cert = { name: "vm.cert", data: Buffer.from("cert") };
    await refused([ovf, cert, { ...cert, name: "other.cert" }], "archive-entry", /two certificates/);
  });
});
