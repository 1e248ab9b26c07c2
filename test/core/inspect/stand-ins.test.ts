import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { probeStandIns } from "../../../src/core/inspect/stand-ins.ts";
import { memoryReader } from "./readers.ts";

const latin1 = (text: string) => new Uint8Array(Buffer.from(text, "latin1"));
const standIn = (driver: string) =>
  probeStandIns.find((d) => d.driver === driver) ?? assert.fail(`no stand-in for ${driver}`);

/** What the stand-in of `driver` says of a 1 MiB image whose first bytes are `head` (at `offset`). */
async function verdictOf(driver: string, head: Uint8Array, offset = 0) {
  return standIn(driver).detect(memoryReader(1024 * 1024, [{ offset, bytes: head }]), {});
}

const refusal = (format: string, label: string) => ({
  format,
  problems: [
    { code: "unsupported-format", message: `${label} are not accepted: no loaded plugin converts this format` },
  ],
});

/** A qcow header: the magic and a big-endian version. */
const qcow = (version: number) => new Uint8Array([...latin1("QFI\xfb"), 0, 0, 0, version]);

describe("the stand-ins for format plugins that are not loaded", () => {
  test("one per format qemu's probe knows that a plugin converts, each reading the head, named after its format", () => {
    assert.deepEqual(
      probeStandIns.map((d) => [d.name, d.driver, d.phase, d.standIn]),
      [
        ["qcow2", "qcow2", "head", true],
        ["vmdk", "vmdk", "head", true],
        ["vhdx", "vhdx", "head", true],
        ["vdi", "vdi", "head", true],
        ["parallels", "parallels", "head", true],
        ["luks", "luks", "head", true],
        ["vhd", "vpc", "head", true],
      ],
    );
    assert.equal(Object.isFrozen(probeStandIns), true);
  });

  test("qcow2: the magic with any version but 1 (qcow, refused by the core's own detector)", async () => {
    for (const version of [0, 2, 3, 4, 255])
      assert.deepEqual(await verdictOf("qcow2", qcow(version)), refusal("qcow2", "qcow2 images"), `version ${version}`);
    assert.equal(await verdictOf("qcow2", qcow(1)), null);
    assert.equal(await verdictOf("qcow2", latin1("QFI\xfa\0\0\0\x03")), null);
    assert.equal(await verdictOf("qcow2", qcow(3), 1), null, "the magic must be at offset 0");
  });

  test("vmdk: the sparse and COWD magics, a descriptor's announcement, and text qemu's descriptor probe takes", async () => {
    const vmdk = refusal("vmdk", "VMDK images");
    for (const head of ["KDMV", "COWD", "# Disk DescriptorFile\n", "  \r\nversion=1\n", "# a comment\nversion=3\r\n"]) {
      assert.deepEqual(await verdictOf("vmdk", latin1(head)), vmdk, JSON.stringify(head));
    }
    for (const head of ["KDMW", " KDMV", "COWE", "# Disk Descriptor", "\nversion=1\n", "version=4\n"]) {
      assert.equal(await verdictOf("vmdk", latin1(head)), null, JSON.stringify(head));
    }
  });

  test("vhdx, vdi and vhd: each signature where qemu's probe looks for it, and nowhere else", async () => {
    assert.deepEqual(await verdictOf("vhdx", latin1("vhdxfile")), refusal("vhdx", "VHDX images"));
    assert.equal(await verdictOf("vhdx", latin1("vhdxfilf")), null);
    assert.equal(await verdictOf("vhdx", latin1("vhdxfile"), 1), null);
    const vdiSignature = new Uint8Array([0x7f, 0x10, 0xda, 0xbe]);
    assert.deepEqual(await verdictOf("vdi", vdiSignature, 0x40), refusal("vdi", "VDI images"));
    assert.equal(await verdictOf("vdi", vdiSignature, 0x44), null);
    assert.equal(await verdictOf("vdi", vdiSignature, 0), null);
    assert.equal(await verdictOf("vdi", new Uint8Array([0x7f, 0x10, 0xda, 0xbf]), 0x40), null);
    assert.deepEqual(await verdictOf("vpc", latin1("conectix")), refusal("vhd", "VHD images (qemu's vpc driver)"));
    assert.equal(await verdictOf("vpc", latin1("conectiy")), null);
    assert.equal(
      await verdictOf("vpc", latin1("conectix"), 1),
      null,
      "a fixed VHD's footer, at the end only, is raw to qemu's probe",
    );
  });

  test("only the first 512 bytes count, as for qemu's probes", async () => {
    const late = latin1(`${" ".repeat(509)}\nversion=1\n`);
    assert.equal(await verdictOf("vmdk", late), null, "a descriptor line past the probe window");
    assert.equal(await verdictOf("vdi", new Uint8Array([0x7f, 0x10, 0xda, 0xbe]), 0x40 + 512), null);
  });
});
