import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { crc32 } from "../../../src/plugin-api.ts";
import {
  claimedKind,
  detectCompressed,
  detectKind,
  isTarHeader,
  KINDS,
} from "../../../src/plugins/compressed/detect.ts";
import { kindOf, memory } from "./helpers.ts";

const bytes = (...values: number[]) => Buffer.from(values);

/** What `zstd -c < /dev/null` writes: one frame, descriptor 0x24. */
const FRAME = bytes(0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x00, 0x01, 0x00, 0x00, 0x99, 0xe9, 0xd8, 0x51);
/** A skippable frame: magic 0x184D2A50 + `nibble` (little-endian), its length, then `size` bytes. */
function skippable(size: number, nibble = 0): Buffer {
  const frame = Buffer.alloc(8 + size, 7);
  frame.writeUInt32LE(0x184d2a50 + nibble, 0);
  frame.writeUInt32LE(size, 4);
  return frame;
}
const skippables = (count: number, size = 8) => Array.from({ length: count }, () => skippable(size));

describe("zstd frames at each boundary of detect.ts", () => {
  it("takes a frame whose descriptor has the reserved bit 0x08 clear, and refuses it set", async () => {
    assert.equal(await kindOf(FRAME), "zst");
    for (const descriptor of [0x00, 0xf7, 0x20])
      assert.equal(await kindOf(Buffer.concat([FRAME.subarray(0, 4), bytes(descriptor)])), "zst", `${descriptor}`);
    for (const descriptor of [0x08, 0xff, 0x2c])
      assert.equal(await kindOf(Buffer.concat([FRAME.subarray(0, 4), bytes(descriptor)])), null, `${descriptor}`);
  });

  it("takes 5 bytes and refuses 4: the magic alone has no descriptor to check", async () => {
    assert.equal(await kindOf(FRAME.subarray(0, 5)), "zst");
    assert.equal(await kindOf(FRAME.subarray(0, 4)), null);
    assert.equal(await kindOf(Buffer.concat([skippable(8), FRAME.subarray(0, 5)])), "zst", "after a skippable frame");
    assert.equal(await kindOf(Buffer.concat([skippable(8), FRAME.subarray(0, 4)])), null, "after a skippable frame");
    const wrong = Buffer.from(FRAME);
    wrong[3] = 0xfe;
    assert.equal(await kindOf(wrong), null, "one magic byte wrong");
  });

  it("takes skippable magics 0x184D2A50 to 0x184D2A5F and refuses 0x184D2A60: only the low nibble is free", async () => {
    for (const nibble of [0, 1, 9, 15])
      assert.equal(await kindOf(Buffer.concat([skippable(4, nibble), FRAME])), "zst", `nibble ${nibble}`);
    for (const nibble of [16, -1, 0x100, 0x1000])
      assert.equal(
        await kindOf(Buffer.concat([skippable(4, nibble), FRAME])),
        null,
        `0x${(0x184d2a50 + nibble).toString(16)}`,
      );
    assert.equal(await kindOf(Buffer.concat([skippable(0), FRAME])), "zst", "an empty skippable frame");
  });

  it("refuses a skippable frame with no frame after it: skipping alone proves nothing", async () => {
    assert.equal(await kindOf(skippable(16)), null);
    assert.equal(await kindOf(skippable(16).subarray(0, 7)), null, "a skippable header cut short");
    assert.equal(await kindOf(Buffer.concat([skippable(16), Buffer.alloc(64)])), null);
  });

  it("takes a frame after 16 skippable frames and refuses it after 17: the walk is bounded", async () => {
    assert.equal(await kindOf(Buffer.concat([...skippables(16), FRAME])), "zst");
    assert.equal(await kindOf(Buffer.concat([...skippables(17), FRAME])), null);
    assert.equal(await kindOf(Buffer.concat([...skippables(16, 600), FRAME])), "zst", "partly beyond the head");
    assert.equal(await kindOf(Buffer.concat([...skippables(17, 600), FRAME])), null, "partly beyond the head");
  });

  it("takes a frame starting at 1 MiB and refuses one at 1 MiB + 1: skippable bytes are bounded", async () => {
    assert.equal(await kindOf(Buffer.concat([skippable((1 << 20) - 8), FRAME])), "zst");
    assert.equal(await kindOf(Buffer.concat([skippable((1 << 20) - 7), FRAME])), null);
    const halves = [skippable((1 << 19) - 8), skippable((1 << 19) - 8)];
    assert.equal(await kindOf(Buffer.concat([...halves, FRAME])), "zst", "two frames of 512 KiB");
    assert.equal(await kindOf(Buffer.concat([...halves, skippable(0), FRAME])), null, "and 8 bytes more");
  });

  it("reads past the 4 KiB head only for frames beyond it: the head answers the rest", async () => {
    const reads: number[] = [];
    const within = Buffer.concat([skippable(4096 - 16), FRAME]); // the frame's first 8 bytes end the head
    assert.equal(await detectKind(memory(within, reads)), "zst");
    assert.deepEqual(reads, [0]);
    reads.length = 0;
    const beyond = Buffer.concat([skippable(4096 - 15), FRAME]);
    assert.equal(await detectKind(memory(beyond, reads)), "zst");
    assert.deepEqual(reads, [0, 4089]);
    reads.length = 0;
    assert.equal(await detectKind(memory(Buffer.concat([skippable(8000), skippable(8), FRAME]), reads)), "zst");
    assert.deepEqual(reads, [0, 8008, 8024]);
  });
});

/** A ustar header block of a regular file (typeflag '0'), its checksum field left blank. */
function ustar(edit?: (block: Buffer) => void): Buffer {
  const block = Buffer.alloc(512);
  block.write("disk.raw", 0, "latin1");
  block.write("0000644\0", 100);
  block.write("0001750\0", 108);
  block.write("0001750\0", 116);
  block.write("00020000000\0", 124);
  block.write("14712345670\0", 136);
  block.write("0", 156);
  block.write("ustar\x0000", 257, "latin1");
  block.write("diskpipe", 265);
  edit?.(block);
  return block;
}
/** The header's sums with the checksum field counted as 8 spaces: unsigned bytes and signed ones. */
function sums(block: Uint8Array): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  block.forEach((byte, i) => {
    const value = i >= 148 && i < 156 ? 0x20 : byte;
    unsigned += value;
    signed += value > 127 ? value - 256 : value;
  });
  return { unsigned, signed };
}
/** The block with `field` (8 characters) written as its checksum. */
function withField(block: Buffer, field: string): Buffer {
  assert.equal(field.length, 8);
  const copy = Buffer.from(block);
  copy.write(field, 148, "latin1");
  return copy;
}
const octal = (block: Buffer) => sums(block).unsigned.toString(8);
const standard = (block: Buffer) => withField(block, `${octal(block).padStart(6, "0")}\0 `);

describe("ustar tar headers at each boundary of detect.ts", () => {
  it("takes every checksum field form tars write: digits ended by NUL and/or spaces, or led by spaces", () => {
    const block = ustar();
    const sum = octal(block);
    for (const field of [
      `${sum.padStart(6, "0")}\0 `,
      `${sum.padStart(7, "0")}\0`,
      `${sum.padStart(7, "0")} `,
      `${sum.padStart(7, " ")}\0`,
      `${sum.padStart(6, " ")} \0`,
      `${sum}\0 \0`,
      `${sum}`.padEnd(8, "\0"),
      `${sum}`.padEnd(8, " "),
    ])
      assert.equal(isTarHeader(withField(block, field)), true, JSON.stringify(field));
  });

  it("refuses a checksum of 8 digits, a sign, or a non-octal character: the field is 1 to 7 octal digits", () => {
    const block = ustar();
    const sum = octal(block).padStart(6, "0");
    for (const field of [
      `0${sum}0`,
      `00${sum}`,
      `+${sum}\0`,
      `${sum}8\0`,
      `${sum}9 `,
      `${sum}\0x`,
      `8${sum}\0`,
      "        ",
    ])
      assert.equal(isTarHeader(withField(block, field)), false, JSON.stringify(field));
    assert.equal(isTarHeader(withField(block, `1${sum.slice(1)}\0 `)), false, "digits off by 8^5");
  });

  it("reads every octal digit 0 to 7: a sum written with a 7 and a 0 matches", () => {
    // Vary one name byte until the sum's octal form holds both a 0 and a 7 (then the field has 8 and 9 too).
    let block = ustar();
    for (let c = 0x41; !/0/.test(octal(block)) || !/7/.test(octal(block)); c++) block = ustar((b) => (b[9] = c));
    assert.equal(isTarHeader(standard(block)), true, octal(block));
  });

  it("counts the field as spaces and every other byte, 0 to 511: typeflag and the field's ends matter", () => {
    const block = standard(ustar());
    assert.equal(isTarHeader(block), true);
    assert.equal(isTarHeader(block.subarray(0, 511)), false, "511 bytes");
    for (const at of [0, 147, 156, 511]) {
      const changed = Buffer.from(block);
      changed[at] ^= 0x01;
      assert.equal(isTarHeader(changed), false, `byte ${at} changed`);
    }
    assert.equal(isTarHeader(Buffer.concat([block, Buffer.alloc(512, 0xff)])), true, "a header and its data");
  });

  it("takes the unsigned sum and the signed one old tars wrote: bytes above 127 differ between them", () => {
    // Latin-1 names (bytes > 127) and a DEL (127, the largest byte that counts the same in both).
    const block = ustar((b) => b.write("d\xe9j\xe0-vu\x7f\xff", 0, "latin1"));
    const { unsigned, signed } = sums(block);
    assert.notEqual(unsigned, signed);
    const field = (sum: number) => `${sum.toString(8).padStart(6, "0")}\0 `;
    assert.equal(isTarHeader(withField(block, field(unsigned))), true, "unsigned");
    assert.equal(isTarHeader(withField(block, field(signed))), true, "signed");
    for (const sum of [unsigned + 1, unsigned - 1, signed + 1, signed - 1, signed - 256, unsigned + 256])
      assert.equal(isTarHeader(withField(block, field(sum))), false, `${sum}`);
  });

  it("refuses a header without the ustar magic at 257 even with its checksum: a v7 tar is not detected", () => {
    for (let at = 257; at < 262; at++) {
      const block = ustar((b) => (b[at] ^= 0x20));
      assert.equal(isTarHeader(standard(block)), false, `magic byte ${at}`);
    }
    assert.equal(isTarHeader(standard(ustar((b) => b.fill(0, 257, 265)))), false, "v7: no magic");
    const gnu = standard(ustar((b) => b.write("ustar  \0", 257, "latin1")));
    assert.equal(isTarHeader(gnu), true, "GNU's 'ustar  \\0'");
    // Only spaces and NULs pad the checksum field: Latin-1's no-break space (0xa0) is not one.
    const { unsigned } = sums(ustar());
    const padded = withField(ustar(), `${unsigned.toString(8).padStart(7, " ")} `);
    assert.equal(isTarHeader(padded), true, "space padding");
    assert.equal(
      isTarHeader(withField(ustar(), `${unsigned.toString(8).padStart(7, " ")}\xa0`)),
      false,
      "0xa0 padding",
    );
    // Padding only leads (spaces) or ends (NULs, spaces) the digits: a gap inside is not a number.
    const digits = unsigned.toString(8).padStart(6, "0");
    for (const gap of [" ", "\0"])
      assert.equal(
        isTarHeader(withField(ustar(), `${digits.slice(0, 2)}${gap}${digits.slice(2)}\0`)),
        false,
        `gap ${gap === " " ? "space" : "NUL"}`,
      );
  });
});

/** A tar header whose name field starts with `name` (another format's magic), checksum set. */
const tarNamed = (name: Uint8Array) => standard(ustar((b) => (b.fill(0, 0, 100), b.set(name, 0))));
const xzHead = () => {
  const head = bytes(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0, 0, 1, 0, 0, 0, 0);
  head.writeUInt32LE(crc32(head.subarray(6, 8)), 8);
  return head;
};

describe("detectKind, detectCompressed, claimedKind and KINDS", () => {
  it("prefers gzip, xz and bzip2 over tar, and tar over zstd, when one head is both", async () => {
    // gzip whose FEXTRA (XLEN 600) spans the tar header; the deflate data follows it.
    const gzTar = Buffer.concat([
      tarNamed(bytes(0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 3, 0x58, 0x02)),
      Buffer.alloc(100),
      bytes(0x03, 0x00),
    ]);
    const heads: [Buffer, string][] = [
      [gzTar, "gz"],
      [tarNamed(xzHead()), "xz"],
      [tarNamed(Buffer.from("BZh91AY&SY", "latin1")), "bz2"],
      [tarNamed(FRAME), "tar"],
    ];
    for (const [head, kind] of heads) {
      assert.equal(isTarHeader(head), true, `${kind} is a tar header too`);
      assert.equal(await kindOf(head), kind);
    }
  });

  it("describes each kind in the same shape, and finds nothing in zeros or in plain text", async () => {
    const heads: [Uint8Array, string][] = [
      [bytes(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0), "gz"],
      [xzHead(), "xz"],
      [FRAME, "zst"],
      [Buffer.from("BZh9\x17\x72\x45\x38\x50\x90", "latin1"), "bz2"],
      [standard(ustar()), "tar"],
    ];
    for (const [head, kind] of heads)
      assert.deepEqual(await detectCompressed(memory(head)), {
        format: "compressed",
        variant: kind,
        problems: [],
        details: { compression: kind },
      });
    assert.equal(await detectCompressed(memory(Buffer.alloc(8192))), null);
    assert.equal(await detectCompressed(memory(Buffer.from("diskpipe ".repeat(500)))), null);
    assert.equal(await detectCompressed(memory(new Uint8Array(0))), null, "an empty image");
  });

  it("names the kind of each --container spelling, trimmed and in any case, and nothing else", () => {
    const names: Record<string, string> = { gz: "gz", gzip: "gz", xz: "xz", zst: "zst", zstd: "zst" };
    Object.assign(names, { bz2: "bz2", bzip2: "bz2", tar: "tar" });
    for (const [name, kind] of Object.entries(names)) assert.equal(claimedKind(name), kind, name);
    assert.equal(claimedKind(" GZip\n"), "gz");
    assert.equal(claimedKind("\tZSTD "), "zst");
    assert.equal(claimedKind("XZ"), "xz");
    for (const name of [
      undefined,
      "",
      " ",
      "zip",
      "raw",
      "tar.gz",
      "g z",
      "lz4",
      "constructor",
      "__proto__",
      "toString",
    ])
      assert.equal(claimedKind(name), undefined, JSON.stringify(name));
  });

  it("lists the kinds in --container's order: gz, xz, zst, bz2, tar", () => {
    assert.deepEqual(KINDS, ["gz", "xz", "zst", "bz2", "tar"]);
  });
});
