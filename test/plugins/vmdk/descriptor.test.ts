import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { descriptorText, parseVmdkDescriptor } from "../../../src/plugins/vmdk/descriptor.ts";

const CIDS = "CID=12345678\nparentCID=ffffffff\n";

/** Parses CIDs followed by `body`, returning what is unexpected in it. */
function unexpected(body: string): string[] {
  return parseVmdkDescriptor(CIDS + body).unexpected.map((u) => u.text);
}

/** The extents parsed from one extent line (none when it is an unexpected line). */
function extents(line: string) {
  return parseVmdkDescriptor(CIDS + line).extents;
}

describe("VMDK descriptor lines", () => {
  test("comments, blank lines and known keys are expected", () => {
    const text = `# comment\n\n   \n\t\r\n${CIDS}version=1\nencoding = "UTF-8"\nisNativeSnapshot="no"\nparentFileNameHint="a"\nddb.a_b.9=1\nddb.x = y\n`;
    const d = parseVmdkDescriptor(text);
    assert.equal(d.unexpectedCount, 0);
    assert.equal(d.namesParent, true);
  });

  test("other keys and text are unexpected, reported with 1-based line numbers", () => {
    const d = parseVmdkDescriptor(`${CIDS}changeTrackPath="x"\n# fine\nhello\na#\n`);
    assert.equal(d.unexpectedCount, 3);
    assert.deepEqual(d.unexpected, [
      { line: 3, text: 'changeTrackPath="x"' },
      { line: 5, text: "hello" },
      { line: 6, text: "a#" },
    ]);
  });

  test("a key must be the whole start of its line", () => {
    assert.deepEqual(unexpected("hello version=1\n"), ["hello version=1"]);
    assert.deepEqual(unexpected("9version=1\n"), ["9version=1"]);
    assert.deepEqual(unexpected("ddb.x-y = 1\n"), ["ddb.x-y = 1"]);
    assert.deepEqual(unexpected("ddbx = 1\n"), ["ddbx = 1"]);
    assert.deepEqual(unexpected("version\n"), ["version"]);
  });

  test("a value may not hold a lone CR: qemu's line would end there", () => {
    assert.deepEqual(unexpected("version=1\rfoo\n"), ["version=1?foo"]);
    assert.deepEqual(unexpected("version=1\r\n"), []);
  });

  test("a key's value mentioning an access mode is still a key", () => {
    assert.deepEqual(unexpected("ddb.comment = RW 8 SPARSE\nversion = RDONLY\n"), []);
  });

  test("a second createType line is unexpected; the first one counts", () => {
    const d = parseVmdkDescriptor(`${CIDS}createType="monolithicSparse"\ncreateType="monolithicFlat"\n`);
    assert.equal(d.createType, "monolithicSparse");
    assert.deepEqual(d.unexpected, [{ line: 4, text: 'createType="monolithicFlat"' }]);
  });

  test("only the first five unexpected lines are kept, all are counted, each shown printable and cut at 60", () => {
    const long = "y".repeat(61);
    const d = parseVmdkDescriptor(`${CIDS}a\u0007\nb\nc\nd\n${long}\nf\ng\n`);
    assert.equal(d.unexpectedCount, 7);
    assert.deepEqual(
      d.unexpected.map((u) => u.text),
      ["a?", "b", "c", "d", `${"y".repeat(60)}…`],
    );
  });
});

describe("VMDK extent lines", () => {
  test("the three access modes, with or without a file and offset", () => {
    assert.deepEqual(extents('RW 8 SPARSE "a.vmdk"'), [{ access: "RW", sectors: 8, type: "SPARSE", file: "a.vmdk" }]);
    assert.deepEqual(extents('RDONLY 1234 FLAT "/dev/sda" 99'), [
      { access: "RDONLY", sectors: 1234, type: "FLAT", file: "/dev/sda" },
    ]);
    assert.deepEqual(extents("NOACCESS 5 ZERO"), [{ access: "NOACCESS", sectors: 5, type: "ZERO", file: undefined }]);
    assert.deepEqual(extents('RW 8 FLAT ""'), [{ access: "RW", sectors: 8, type: "FLAT", file: "" }]);
  });

  test("fields may be separated by any whitespace, and trailing space is ignored", () => {
    assert.deepEqual(extents("RW  8 ZERO"), [{ access: "RW", sectors: 8, type: "ZERO", file: undefined }]);
    assert.deepEqual(extents('RW\t8  FLAT \t"f"  12 \t'), [{ access: "RW", sectors: 8, type: "FLAT", file: "f" }]);
  });

  test("sizes and offsets have at most 15 digits", () => {
    assert.equal(extents("RW 999999999999999 ZERO")[0]?.sectors, 999999999999999);
    assert.deepEqual(extents("RW 1000000000000000 ZERO"), []);
    assert.equal(extents('RW 8 FLAT "f" 999999999999999').length, 1);
    assert.deepEqual(extents('RW 8 FLAT "f" 1000000000000000'), []);
  });

  test("malformed extent lines are unexpected, not extents", () => {
    for (const line of [
      "RW many SPARSE",
      "RW 8",
      "RW 8 sparse",
      "RW 8 SPARSE2",
      'RW 8 SPARSE "a"b"',
      'RW 8 SPARSE "a\rb"',
      "RW 8 FLAT 0",
      'RW 8 FLAT "f" 0 x',
      'RW 8 FLAT "f" x',
      "RW8 ZERO",
      "RW 8ZERO",
      'RW 8 FLAT"f"',
      "RW x RW 8 ZERO",
      "RWX 8 ZERO",
    ]) {
      const d = parseVmdkDescriptor(CIDS + line);
      assert.deepEqual([d.extents, d.unexpectedCount], [[], 1], JSON.stringify(line));
    }
  });
});

describe("VMDK createType", () => {
  test("quotes around the value are removed when both are there", () => {
    const type = (value: string) => parseVmdkDescriptor(`createType=${value}\n`).createType;
    assert.equal(type('"monolithicSparse"'), "monolithicSparse");
    assert.equal(type("monolithicSparse"), "monolithicSparse");
    assert.equal(type('""'), "");
    assert.equal(type('"'), '"');
    assert.equal(type('"x'), '"x');
    assert.equal(type('x"'), 'x"');
    assert.equal(parseVmdkDescriptor('createType = "a b"\n').createType, "a b");
  });

  test("qemu reads two characters past the name, then up to the next quote", () => {
    assert.equal(parseVmdkDescriptor('createType="streamOptimized"\n').qemuCreateType, "streamOptimized");
    assert.equal(parseVmdkDescriptor('x\ncreateType="streamOptimized"\n').qemuCreateType, "streamOptimized");
    assert.equal(parseVmdkDescriptor('createType = "streamOptimized"\n').qemuCreateType, " ");
    assert.equal(parseVmdkDescriptor('createType=xy\nddb.a="b"').qemuCreateType, "y\nddb.a=");
    assert.equal(parseVmdkDescriptor('createType="streamOptimized\n').qemuCreateType, undefined);
    assert.equal(parseVmdkDescriptor("version=1\n").qemuCreateType, undefined);
  });
});

describe("VMDK CIDs as qemu reads them", () => {
  const readable = (text: string) => parseVmdkDescriptor(text).cidsReadable;

  test("both must be present, each `=` then hex", () => {
    assert.equal(readable("CID=12345678\nparentCID=ffffffff\n"), true);
    assert.equal(readable("x\nCID=ABCDEF\nparentCID=a\n"), true);
    assert.equal(readable("CID=12345678\n"), false);
    assert.equal(readable("CID=zz\nparentCID=1\n"), false);
    assert.equal(readable("CID=1\nparentCID=g\n"), false);
    assert.equal(readable("CID=G1\nparentCID=1\n"), false);
    assert.equal(readable("CID = 1\nparentCID=1\n"), false);
    assert.equal(readable("CID=\nparentCID=1\n"), false);
    assert.equal(readable("version=1\n"), false);
    // qemu would skip any one character after the name; diskpipe wants the `=`.
    assert.equal(readable("CIDx1\nparentCID=1\n"), false);
    // No parentCID at all: the bytes where it is not must not count.
    assert.equal(readable("CID=1\nab=1\n"), false);
  });

  test("the first occurrence counts, even inside parentCID", () => {
    assert.equal(readable("parentCID=ffffffff\n"), true);
    assert.equal(readable("# CID is\nCID=1\nparentCID=1\n"), false);
  });

  test("whitespace, newlines included, may come before the hex, up to 63 characters", () => {
    assert.equal(readable(`CID=\n  a\nparentCID=${" ".repeat(62)}1`), true);
    assert.equal(readable(`CID=1\nparentCID=${" ".repeat(63)}1`), false);
  });
});

describe("descriptorText", () => {
  test("stops at the first NUL", () => {
    assert.deepEqual(descriptorText(Uint8Array.of(0x61, 0, 0x62)), { text: "a", terminated: true });
    assert.deepEqual(descriptorText(Uint8Array.of(0, 0x62)), { text: "", terminated: true });
    assert.deepEqual(descriptorText(new Uint8Array(0)), { text: "", terminated: false });
  });

  test("reads latin-1 across its 8 KiB pieces", () => {
    const bytes = new Uint8Array(20000).map((_, i) => 0x41 + (i % 26));
    bytes[3] = 0xe9;
    const whole = descriptorText(bytes);
    assert.equal(whole.terminated, false);
    assert.equal(whole.text, Buffer.from(bytes).toString("latin1"));
    bytes[16385] = 0;
    const cut = descriptorText(bytes);
    assert.deepEqual(cut, { text: Buffer.from(bytes.subarray(0, 16385)).toString("latin1"), terminated: true });
  });
});
