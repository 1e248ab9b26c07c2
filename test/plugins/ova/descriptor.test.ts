import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isMemberName, parseDescriptor } from "../../../src/plugins/ova/descriptor.ts";
import { MAX_DESCRIPTOR_BYTES } from "../../../src/plugins/ova/xml.ts";
import { VMWARE_MACHINE, vmwareOvf } from "./fixtures.ts";

const GiB = 2 ** 30;
const twoDisks = [
  { href: "web-01-disk1.vmdk", capacityGiB: 16, size: 1234567 },
  { href: "web-01 data (2).vmdk", capacityGiB: 2, gzip: true },
];

/** Asserts `text` is refused with `code` and a message matching `message`. */
function refused(text: string, code: string, message: RegExp): void {
  assert.throws(() => parseDescriptor(text), { code, message });
}

describe("OVF descriptor", () => {
  it("reads the files, the disks in order and the machine of a VMware descriptor", () => {
    const { files, disks, machine } = parseDescriptor(vmwareOvf(twoDisks));
    assert.deepEqual(files, [
      { id: "file1", href: "web-01-disk1.vmdk", size: 1234567, gzip: false },
      { id: "file2", href: "web-01 data (2).vmdk", gzip: true },
    ]);
    assert.deepEqual(
      disks.map((d) => [d.id, d.file.href, d.capacity, d.format]),
      [
        ["vmdisk1", "web-01-disk1.vmdk", 16 * GiB, "vmdk"],
        ["vmdisk2", "web-01 data (2).vmdk", 2 * GiB, "vmdk"],
      ],
    );
    assert.deepEqual(machine, {
      ...VMWARE_MACHINE,
      disks: [
        { id: "vmdisk1", capacity: 16 * GiB, controller: { kind: "scsi", subtype: "lsilogic" }, address: "0" },
        { id: "vmdisk2", capacity: 2 * GiB, controller: { kind: "scsi", subtype: "lsilogic" }, address: "1" },
      ],
    });
  });

  it("takes older unit words and BIOS when the descriptor names no firmware", () => {
    const text = vmwareOvf([{ href: "d.vmdk", capacityGiB: 1 }])
      .replace(
        'ovf:capacity="1" ovf:capacityAllocationUnits="byte * 2^30"',
        'ovf:capacity="512" ovf:capacityAllocationUnits="MegaBytes"',
      )
      .replace('<vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="efi"/>', "");
    const { disks, machine } = parseDescriptor(text);
    assert.equal(disks[0]?.capacity, 512 * 2 ** 20);
    assert.equal(machine.firmware, "bios");
  });

  it("refuses a document type: an entity bomb and an external entity naming a local file", () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>${vmwareOvf(
      twoDisks,
    )
      .replace(/^<\?xml[^>]*>/, "")
      .replace("web-01 &amp; co", "&lol2;")}`;
    refused(bomb, "ova-descriptor-invalid", /declares a document type/);
    const external = vmwareOvf(twoDisks)
      .replace(
        /^<\?xml[^>]*>/,
        '<?xml version="1.0"?><!DOCTYPE Envelope [<!ENTITY secret SYSTEM "file:///etc/passwd">]>',
      )
      .replace("web-01 &amp; co", "&secret;");
    refused(external, "ova-descriptor-invalid", /declares a document type/);
    // Without a declaration an entity reference is not expanded: it stays as text.
    assert.equal(parseDescriptor(vmwareOvf(twoDisks).replace("web-01 &amp; co", "&secret;")).machine.name, "&secret;");
  });

  it("refuses an href that is not a bare member name: traversal, absolute, a URL, a hidden name", () => {
    for (const href of [
      "../../etc/passwd",
      "/etc/passwd",
      "http://127.0.0.1:9/disk.vmdk",
      "sub/disk.vmdk",
      "..",
      ".hidden",
      "C:\\disk.vmdk",
      "a\u0001b",
      "x".repeat(256),
    ])
      refused(
        vmwareOvf([{ href: href.replaceAll("&", "&amp;"), capacityGiB: 1 }]),
        "ova-href-unsafe",
        /not a member name/,
      );
    assert.ok(isMemberName("x".repeat(255)));
    assert.ok(!isMemberName(""));
  });

  it("refuses sizes that are not counts, unknown units and capacities past 2^53", () => {
    refused(
      vmwareOvf([{ href: "d.vmdk", capacityGiB: -1 }]),
      "ova-descriptor-invalid",
      /capacity of disk "vmdisk1" is "-1"/,
    );
    refused(vmwareOvf([{ href: "d.vmdk", capacityGiB: 0 }]), "ova-descriptor-invalid", /not a count/);
    refused(vmwareOvf([{ href: "d.vmdk", capacityGiB: 2 ** 24 }]), "ova-descriptor-invalid", /too large/);
    refused(
      vmwareOvf([{ href: "d.vmdk", capacityGiB: 1 }]).replace("byte * 2^30", "byte * 2^60"),
      "ova-descriptor-invalid",
      /has the units "byte \* 2\^60"/,
    );
    refused(
      vmwareOvf([{ href: "d.vmdk", capacityGiB: 1, size: 1e20 }]),
      "ova-descriptor-invalid",
      /size of file "file1"/,
    );
  });

  it("refuses what it does not read: other compression, other formats, several machines, an empty disk", () => {
    refused(
      vmwareOvf([{ href: "d.vmdk", capacityGiB: 1 }]).replace(
        'ovf:href="d.vmdk"',
        'ovf:href="d.vmdk" ovf:compression="bzip2"',
      ),
      "ova-unsupported",
      /compression "bzip2"/,
    );
    refused(
      vmwareOvf([{ href: "d.img", capacityGiB: 1 }]).replace(
        /ovf:format="[^"]*"/,
        'ovf:format="http://example.test/iso9660"',
      ),
      "ova-unsupported",
      /format/,
    );
    refused(
      vmwareOvf(twoDisks, '<VirtualSystem ovf:id="two"><Name>two</Name></VirtualSystem>'),
      "ova-descriptor-invalid",
      /2 VirtualSystem/,
    );
    refused(vmwareOvf(twoDisks).replace('ovf:fileRef="file2"', ""), "ova-unsupported", /empty disk/);
    refused(
      vmwareOvf(twoDisks).replace('ovf:fileRef="file2"', 'ovf:fileRef="file9"'),
      "ova-descriptor-invalid",
      /"file9", which is not listed/,
    );
    refused(
      vmwareOvf(twoDisks).replace('ovf:fileRef="file2"', 'ovf:fileRef="file1"'),
      "ova-descriptor-invalid",
      /two disks name the same file/,
    );
  });

  it("refuses a descriptor that is not XML, has no Envelope or disk, or is larger than 1 MiB", () => {
    refused("not xml at all", "ova-descriptor-invalid", /not well-formed/);
    refused("<Other/>", "ova-descriptor-invalid", /no Envelope/);
    refused(vmwareOvf([]), "ova-descriptor-invalid", /no disk/);
    const padded = vmwareOvf(twoDisks).replace(
      "<References>",
      `<!--${"x".repeat(MAX_DESCRIPTOR_BYTES)}--><References>`,
    );
    refused(padded, "ova-descriptor-invalid", /larger than 1048576 bytes/);
  });
});
