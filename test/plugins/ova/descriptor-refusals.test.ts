import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isMemberName, parseDescriptor } from "../../../src/plugins/ova/descriptor.ts";
import { refusedBy } from "./refused.ts";

const SYSTEM = '<VirtualSystem ovf:id="vm"><Name>vm</Name></VirtualSystem>';
const DISK = '<Disk ovf:capacity="1" ovf:capacityAllocationUnits="byte * 2^30" ovf:diskId="vmdisk1" ovf:fileRef="f1"/>';

/** A descriptor with the File elements `files`, the Disk elements `disks` and `rest` (one VirtualSystem by default). */
function ovf(files: string, disks = DISK, rest = SYSTEM): string {
  return `<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
  <References>${files}</References>
  <DiskSection><Info>disks</Info>${disks}</DiskSection>
  ${rest}
</Envelope>`;
}

const F1 = '<File ovf:href="d.vmdk" ovf:id="f1"/>';

const refused = (text: string, code: string, message: string) => refusedBy(parseDescriptor, text, code, message);

const INVALID = "ova-descriptor-invalid";
const UNSUPPORTED = "ova-unsupported";

describe("OVF descriptor: the References", () => {
  it("refuses two files with one id, and two files naming one member", () => {
    const twice = '<File ovf:href="a.vmdk" ovf:id="f1"/><File ovf:href="b.vmdk" ovf:id="f1"/>';
    refused(ovf(twice), INVALID, 'two files have the id "f1"');
    const same = '<File ovf:href="d.vmdk" ovf:id="f1"/><File ovf:href="d.vmdk" ovf:id="f2"/>';
    refused(ovf(same), INVALID, "two files name the same member");
  });

  it("refuses a File without an id or an href", () => {
    const message = "a File element lacks ovf:id or ovf:href";
    refused(ovf('<File ovf:href="d.vmdk"/>'), INVALID, message);
    refused(ovf('<File ovf:href="d.vmdk" ovf:id=""/>'), INVALID, message);
    refused(ovf('<File ovf:id="f1"/>'), INVALID, message);
  });

  it("refuses an href that is not a member name, naming the file and the href", () => {
    refused(
      ovf('<File ovf:href="../x.vmdk" ovf:id="f1"/>'),
      "ova-href-unsafe",
      'file "f1" names "../x.vmdk", not a member name',
    );
    refused(ovf('<File ovf:href="" ovf:id="f1"/>'), "ova-href-unsafe", 'file "f1" names "", not a member name');
    refused(
      ovf('<File ovf:href="https://example.test/d.vmdk" ovf:id="f1"/>'),
      "ova-href-unsafe",
      'file "f1" names "https://example.test/d.vmdk", not a member name',
    );
  });

  it("takes an href of 255 bytes, refuses 256 (bytes, not characters)", () => {
    const file = (href: string) => ovf(`<File ovf:href="${href}" ovf:id="f1"/>`);
    assert.equal(parseDescriptor(file("x".repeat(255))).files[0]?.href, "x".repeat(255));
    assert.equal(parseDescriptor(file(`${"é".repeat(127)}x`)).files[0]?.href, `${"é".repeat(127)}x`);
    for (const href of ["x".repeat(256), "é".repeat(128)])
      assert.throws(() => parseDescriptor(file(href)), { code: "ova-href-unsafe" });
  });

  it("isMemberName: a bare name without separators, leading dot or control characters", () => {
    for (const name of ["a.vmdk", "a..b", "disk 1 (copy).vmdk", "a\u0080b", "ü.vmdk", "a~b", "x".repeat(255)])
      assert.equal(isMemberName(name), true, name);
    for (const name of [
      "",
      ".",
      "..",
      ".x",
      "a/b",
      "a\\b",
      "a:b",
      "a\u0000b",
      "a\u001fb",
      "a\u007fb",
      "a\nb",
      "x".repeat(256),
    ])
      assert.equal(isMemberName(name), false, JSON.stringify(name));
  });

  it("reads gzip and identity compression, refuses any other", () => {
    const file = (compression: string) => ovf(`<File ovf:href="d.vmdk" ovf:id="f1" ovf:compression="${compression}"/>`);
    assert.deepEqual(parseDescriptor(file("gzip")).files, [{ id: "f1", href: "d.vmdk", gzip: true }]);
    assert.deepEqual(parseDescriptor(file("identity")).files, [{ id: "f1", href: "d.vmdk", gzip: false }]);
    assert.deepEqual(parseDescriptor(ovf(F1)).files, [{ id: "f1", href: "d.vmdk", gzip: false }]);
    for (const compression of ["bzip2", "GZIP", "", "deflate"])
      refused(file(compression), UNSUPPORTED, `file "f1" uses compression "${compression}" (only gzip is read)`);
  });

  it("reads sizes and chunk sizes: a size may be 0, a chunk size not", () => {
    const file = (attributes: string) => ovf(`<File ovf:href="d.vmdk" ovf:id="f1" ${attributes}/>`);
    assert.deepEqual(parseDescriptor(file('ovf:size="0"')).files, [{ id: "f1", href: "d.vmdk", size: 0, gzip: false }]);
    assert.deepEqual(parseDescriptor(file('ovf:size="3000" ovf:chunkSize="1024"')).files, [
      { id: "f1", href: "d.vmdk", size: 3000, gzip: false, chunkSize: 1024 },
    ]);
    refused(file('ovf:size="x"'), INVALID, 'the size of file "f1" is "x", not a count');
    refused(file('ovf:chunkSize="1024"'), INVALID, 'file "f1" is chunked but declares no ovf:size');
    refused(file('ovf:size="10" ovf:chunkSize="0"'), INVALID, 'the chunk size of file "f1" is "0", not a count');
  });

  it("refuses a file named like a chunk of a chunked file, and only that", () => {
    const chunked = '<File ovf:href="d.vmdk" ovf:id="f1" ovf:size="10" ovf:chunkSize="5"/>';
    const other = (href: string) => `<File ovf:href="${href}" ovf:id="f2"/>`;
    refused(ovf(chunked + other("d.vmdk.000000000")), INVALID, 'file "f2" has the name of a chunk of another file');
    refused(ovf(other("d.vmdk.000000007") + chunked), INVALID, 'file "f2" has the name of a chunk of another file');
    // Not chunked, not nine digits, not this file's chunks: accepted.
    for (const files of [
      F1 + other("d.vmdk.000000000"),
      chunked + other("d.vmdk.0000000001"),
      chunked + other("d.vmdk.00000000"),
      chunked + other("d.vmdkx000000000"),
      chunked + other("e.vmdk.000000000"),
      chunked + other("x\u2028d.vmdk.000000000"),
    ])
      assert.equal(parseDescriptor(ovf(files)).files.length, 2, files);
  });
});

describe("OVF descriptor: the disks and the systems", () => {
  it("refuses a disk without capacity, without id or file, or naming an unlisted file", () => {
    refused(ovf(F1, '<Disk ovf:diskId="vmdisk1" ovf:fileRef="f1"/>'), INVALID, 'disk "vmdisk1" has no ovf:capacity');
    const empty = "a disk without ovf:diskId or ovf:fileRef (an empty disk)";
    refused(ovf(F1, '<Disk ovf:capacity="1" ovf:fileRef="f1"/>'), UNSUPPORTED, empty);
    refused(ovf(F1, '<Disk ovf:capacity="1" ovf:diskId="vmdisk1"/>'), UNSUPPORTED, empty);
    refused(
      ovf(F1, '<Disk ovf:capacity="1" ovf:diskId="vmdisk1" ovf:fileRef="f9"/>'),
      INVALID,
      'disk "vmdisk1" names file "f9", which is not listed',
    );
    refused(ovf(F1, ""), INVALID, "the OVF descriptor describes no disk");
    const two = `${DISK}<Disk ovf:capacity="2" ovf:diskId="vmdisk2" ovf:fileRef="f1"/>`;
    refused(ovf(F1, two), INVALID, "two disks name the same file");
  });

  it("reads the capacity in bytes when no units are given, and refuses a bad one exactly", () => {
    const disk = (attributes: string) => ovf(F1, `<Disk ${attributes} ovf:diskId="vmdisk1" ovf:fileRef="f1"/>`);
    assert.equal(parseDescriptor(disk('ovf:capacity="1048576"')).disks[0]?.capacity, 2 ** 20);
    assert.equal(
      parseDescriptor(disk('ovf:capacity="3" ovf:capacityAllocationUnits="byte * 2^20"')).disks[0]?.capacity,
      3 * 2 ** 20,
    );
    refused(disk('ovf:capacity="1.5"'), INVALID, 'the capacity of disk "vmdisk1" is "1.5", not a count');
    refused(
      disk('ovf:capacity="1" ovf:capacityAllocationUnits="parsecs"'),
      INVALID,
      'the capacity of disk "vmdisk1" has the units "parsecs"',
    );
    refused(
      disk('ovf:capacity="9007199254740991" ovf:capacityAllocationUnits="KiloBytes"'),
      INVALID,
      'the capacity of disk "vmdisk1" is too large',
    );
  });

  it("maps ovf:format to a diskpipe format, VMDK when absent", () => {
    const format = (uri?: string) =>
      parseDescriptor(ovf(F1, DISK.replace("/>", uri === undefined ? "/>" : ` ovf:format="${uri}"/>`))).disks[0]
        ?.format;
    assert.equal(format(), "vmdk");
    assert.equal(format("http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"), "vmdk");
    assert.equal(format("http://www.gnome.org/~markmc/qcow-image-format.html"), "qcow2");
    assert.equal(format("urn:QCOW2"), "qcow2");
    assert.equal(format("http://go.microsoft.com/fwlink/VHDX"), "vhdx");
    assert.equal(format("http://go.microsoft.com/fwlink/vhd"), "vhd");
    assert.equal(format("VHD"), "vhd");
    refused(
      ovf(F1, DISK.replace("/>", ' ovf:format="http://example.test/iso9660"/>')),
      UNSUPPORTED,
      'disk "vmdisk1" has format "http://example.test/iso9660"',
    );
  });

  it("refuses a VirtualSystemCollection, and anything but one VirtualSystem", () => {
    refused(
      ovf(F1, DISK, `<VirtualSystemCollection ovf:id="c">${SYSTEM}</VirtualSystemCollection>`),
      UNSUPPORTED,
      "the appliance holds several virtual machines (VirtualSystemCollection)",
    );
    refused(
      ovf(F1, DISK, `${SYSTEM}<VirtualSystemCollection ovf:id="c"/>`),
      UNSUPPORTED,
      "the appliance holds several virtual machines (VirtualSystemCollection)",
    );
    refused(ovf(F1, DISK, ""), INVALID, "the OVF descriptor has 0 VirtualSystem elements, not 1");
    refused(ovf(F1, DISK, SYSTEM + SYSTEM), INVALID, "the OVF descriptor has 2 VirtualSystem elements, not 1");
    assert.equal(parseDescriptor(ovf(F1)).machine.name, "vm");
  });

  it("refuses a document without an Envelope, or with a document type", () => {
    refused("<Other/>", INVALID, "the OVF descriptor has no Envelope element");
    refused("<Envelope>text</Envelope>", INVALID, "the OVF descriptor has no Envelope element");
    refused(
      `<!DOCTYPE Envelope>${ovf(F1)}`.replace('<?xml version="1.0"?>\n', ""),
      INVALID,
      "the OVF descriptor declares a document type (DTD or entities)",
    );
  });
});
