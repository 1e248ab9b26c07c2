import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  asciiField,
  isZero,
  matchAscii,
  printable,
  u16be,
  u32be,
  u32le,
  u64be,
  u64leBig,
  u8,
} from "../../../src/core/inspect/bytes.ts";
import { checkClaim } from "../../../src/core/inspect/index.ts";
import { crc32, crc32c } from "../../../src/core/inspect/crc.ts";
import { parseVmdkDescriptor } from "../../../src/plugins/vmdk/descriptor.ts";
import { checkStandardClaim } from "../../helpers/inspect.ts";

const text = (s: string) => new TextEncoder().encode(s);

describe("bytes", () => {
  test("readers decode both endians and return 0 past the end", () => {
    const b = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
    assert.equal(u8(b, 7), 8);
    assert.equal(u16be(b, 0), 0x0102);
    assert.equal(u32be(b, 0), 0x01020304);
    assert.equal(u32le(b, 0), 0x04030201);
    assert.equal(u64be(b, 0), 0x0102030405060708);
    assert.equal(u64leBig(b, 0), 0x0807060504030201n);
    assert.equal(u32be(b, 6), 0);
    assert.equal(u64leBig(b, 1), 0n);
    assert.equal(u8(b, -1), 0);
    assert.equal(u32le(b, Number.NaN), 0);
  });

  test("text helpers are safe on untrusted bytes", () => {
    assert.equal(matchAscii(text("QFI\xfb"), 0, "QFI"), true);
    assert.equal(matchAscii(text("QF"), 0, "QFI"), false);
    assert.equal(asciiField(Uint8Array.of(0x61, 0x0a, 0x62, 0, 0x63), 0, 5), "a?b");
    assert.equal(printable("x\u0000y\u202e", 10), "x?y?");
    assert.equal(printable("abcdef", 3), "abc…");
    assert.equal(isZero(new Uint8Array(4), 0, 10), true);
  });
});

describe("crc", () => {
  test("check values", () => {
    assert.equal(crc32(text("123456789")), 0xcbf43926);
    assert.equal(crc32c(text("123456789")), 0xe3069283);
    assert.equal(crc32(text("6789"), crc32(text("12345"))), 0xcbf43926);
  });
});

describe("checkClaim", () => {
  test("the built-in rule", () => {
    assert.equal(checkClaim("qcow2", { format: "qcow2", variant: "v2" }), null);
    assert.equal(checkClaim("raw", { format: "raw" }), null);
    assert.equal(checkClaim("raw", { format: "raw", variant: "gpt" }), null);
    assert.equal(checkClaim("raw", { format: "raw", variant: "mbr" }), null);
    assert.equal(checkStandardClaim("iso", { format: "iso", variant: "udf" }), null);
    assert.equal(checkStandardClaim("iso", { format: "raw", variant: "gpt" }), null);
    assert.equal(checkStandardClaim("iso", { format: "raw", variant: "mbr" }), null);
    assert.equal(checkClaim("vhd", { format: "vhd", variant: "fixed" }), null);
    assert.equal(checkStandardClaim("VPC", { format: "vhd" }), null);
    assert.equal(checkClaim("raw", { format: "qcow2" })?.code, "format-mismatch");
    assert.equal(checkStandardClaim("iso", { format: "raw" })?.code, "format-mismatch");
    assert.equal(checkClaim("raw", { format: "iso" })?.code, "format-mismatch");
    assert.equal(checkClaim("vhdx", { format: "vhd" })?.code, "format-mismatch");
    assert.equal(checkClaim("ami", { format: "raw" })?.code, "format-mismatch");
  });

  test("accepts replaces the rule", () => {
    assert.equal(checkClaim("ami", { format: "qcow2" }, ["raw", "qcow2"]), null);
    assert.equal(checkClaim("ami", { format: "raw", variant: "gpt" }, ["raw"]), null);
    assert.equal(checkClaim("ami", { format: "raw", variant: "gpt" }, ["raw:mbr"])?.code, "format-mismatch");
    assert.equal(checkClaim("qcow2", { format: "qcow2" }, ["raw"])?.code, "format-mismatch");
  });

  test("messages name both sides and cannot smuggle control characters", () => {
    const p = checkClaim("raw\n\u001b[31m", { format: "qcow2", variant: "v3" })!;
    assert.match(p.message, /claimed to be raw\?\?\[31m but is qcow2 \(v3\)/);
  });
});

describe("VMDK descriptor", () => {
  const qemuStyle = [
    "# Disk DescriptorFile",
    "version=1",
    "CID=170539f5",
    "parentCID=ffffffff",
    'createType="monolithicSparse"',
    "",
    "# Extent description",
    'RW 204800 SPARSE "t.vmdk"',
    "",
    "# The Disk Data Base",
    "#DDB",
    "",
    'ddb.virtualHWVersion = "4"',
    'ddb.adapterType = "ide"',
    "",
  ].join("\n");

  test("a qemu descriptor parses cleanly", () => {
    const d = parseVmdkDescriptor(qemuStyle);
    assert.equal(d.createType, "monolithicSparse");
    assert.equal(d.qemuCreateType, "monolithicSparse");
    assert.deepEqual(d.extents, [{ access: "RW", sectors: 204800, type: "SPARSE", file: "t.vmdk" }]);
    assert.equal(d.namesParent, false);
    assert.equal(d.unexpectedCount, 0);
  });

  test("CRLF line ends are accepted", () => {
    assert.equal(parseVmdkDescriptor(qemuStyle.replace(/\n/g, "\r\n")).unexpectedCount, 0);
  });

  test("parentFileNameHint counts even inside a comment, as qemu's strstr finds it", () => {
    assert.equal(parseVmdkDescriptor(`${qemuStyle}# parentFileNameHint="x"\n`).namesParent, true);
  });

  test("a createType in a comment before the key line is what qemu reads", () => {
    const d = parseVmdkDescriptor(qemuStyle.replace("# Disk DescriptorFile", '# createType="monolithicFlat"'));
    assert.equal(d.qemuCreateType, "monolithicFlat");
    assert.equal(d.createType, "monolithicSparse");
  });

  test("unknown keys and malformed extents are unexpected lines", () => {
    const d = parseVmdkDescriptor(`${qemuStyle}changeTrackPath="x.ctk"\nRW many SPARSE "y"\nhello\n`);
    assert.equal(d.unexpectedCount, 3);
    assert.deepEqual(
      d.unexpected.map((u) => u.line),
      [15, 16, 17],
    );
  });
});
