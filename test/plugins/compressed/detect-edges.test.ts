import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { deflateRawSync, gzipSync } from "node:zlib";
import { crc32 } from "../../../src/plugin-api.ts";
import { kindOf } from "./helpers.ts";

const bytes = (...values: number[]) => Buffer.from(values);
const latin1 = (text: string) => Buffer.from(text, "latin1");

/** Fixed-Huffman deflate data: any prefix of it inflates (the head is a prefix of a longer stream). */
const deflated = deflateRawSync(Buffer.from("diskpipe unpacks compressed images ".repeat(20)));
/** A gzip member header with FLG `flags`, then its optional fields and deflate data. */
const gzip = (flags: number, ...rest: Uint8Array[]) =>
  Buffer.concat([bytes(0x1f, 0x8b, 8, flags, 0x5e, 0x1d, 0x6b, 0x67, 0, 3), ...rest]);
/** FEXTRA: XLEN little-endian, then XLEN bytes (0xff, which never starts a valid deflate block). */
const extra = (length: number) => Buffer.concat([bytes(length & 0xff, length >> 8), Buffer.alloc(length, 0xff)]);

describe("gzip heads at each boundary of detect.ts", () => {
  it("takes 18 bytes and refuses 17: a member head is its 10-byte header and at least 8 more", async () => {
    assert.equal(await kindOf(gzip(0, deflated.subarray(0, 8))), "gz");
    assert.equal(await kindOf(gzip(0, deflated.subarray(0, 7))), null);
    assert.equal(await kindOf(gzip(0, deflated)), "gz");
  });

  it("refuses a wrong ID1, ID2 or CM: only 1f 8b with method 8 (deflate) is gzip", async () => {
    for (const [at, value] of [
      [0, 0x1e],
      [0, 0x9f],
      [1, 0x8a],
      [1, 0x0b],
      [2, 7],
      [2, 9],
      [2, 0],
    ]) {
      const head = gzip(0, deflated);
      head[at] = value;
      assert.equal(await kindOf(head), null, `byte ${at} = ${value}`);
    }
  });

  it("refuses each reserved FLG bit 0x20, 0x40, 0x80: RFC 1952 requires them clear", async () => {
    for (const bit of [0x20, 0x40, 0x80]) assert.equal(await kindOf(gzip(bit, deflated)), null, `bit ${bit}`);
    assert.equal(await kindOf(gzip(0x01, deflated)), "gz", "FTEXT is only a hint");
  });

  it("skips FEXTRA by its little-endian XLEN: both bytes of the length count", async () => {
    // 0x0107 = 263: the low byte alone (7) or the high byte alone (256) lands inside the 0xff bytes.
    assert.equal(await kindOf(gzip(4, extra(0x0107), deflated)), "gz");
    assert.equal(await kindOf(gzip(4, extra(0x0107), bytes(0xff), deflated)), null, "one extra byte too many");
    assert.equal(await kindOf(gzip(4, extra(7), deflated)), "gz");
    assert.equal(await kindOf(gzip(4, extra(0), deflated)), "gz", "an empty extra field");
    assert.equal(await kindOf(gzip(0, extra(7), deflated)), null, "without FEXTRA the field is taken as deflate");
  });

  it("skips FNAME and FCOMMENT up to their NUL, each alone and both: the text is not deflate data", async () => {
    const name = latin1("disk.raw\0");
    const comment = latin1("made by diskpipe\0");
    assert.equal(await kindOf(gzip(8, name, deflated)), "gz");
    assert.equal(await kindOf(gzip(16, comment, deflated)), "gz");
    assert.equal(await kindOf(gzip(24, name, comment, deflated)), "gz");
    assert.equal(await kindOf(gzip(4 | 24, extra(3), name, comment, deflated)), "gz");
    assert.equal(await kindOf(gzip(0, name, deflated)), null, "a name without FNAME");
    assert.equal(await kindOf(gzip(0, comment, deflated)), null, "a comment without FCOMMENT");
    assert.equal(await kindOf(gzip(8, name, comment, deflated)), null, "a comment with FNAME alone");
    assert.equal(await kindOf(gzip(16, name, comment, deflated)), null, "a name with FCOMMENT alone");
    assert.equal(await kindOf(gzip(8, latin1("x".repeat(4086)))), null, "a name with no NUL in the head");
    assert.equal(await kindOf(gzip(24, latin1("x".repeat(40)), bytes(0), latin1("y".repeat(4046)))), null);
  });

  it("refuses an unterminated FNAME even when the header itself would inflate: no start, no trial", async () => {
    // From byte 2 on, this header reads as a stored deflate block (LEN 0x000a, NLEN 0xfff5) of 10 bytes.
    const head = bytes(0x1f, 0x8b, 8, 8 | 2, 0x00, 0xf5, 0xff, 0, 0, 3, ...latin1("raw.data"));
    assert.equal(await kindOf(head), null);
    assert.equal(await kindOf(Buffer.concat([head, latin1("\0"), bytes(0xff, 0xff), deflated])), "gz", "ended");
  });

  it("skips the 2-byte FHCRC after the other fields: the CRC16 is not deflate data", async () => {
    const crc16 = (head: Uint8Array) => bytes(crc32(head) & 0xff, (crc32(head) >> 8) & 0xff);
    const head = gzip(2);
    assert.equal(await kindOf(gzip(2, crc16(head), deflated)), "gz");
    assert.equal(await kindOf(gzip(2, bytes(0xff, 0xff), deflated)), "gz");
    assert.equal(await kindOf(gzip(0, bytes(0xff, 0xff), deflated)), null, "a CRC16 without FHCRC");
    assert.equal(await kindOf(gzip(2 | 8, latin1("disk.raw\0"), bytes(0xff, 0xff), deflated)), "gz");
    assert.equal(await kindOf(gzip(2, bytes(0xff, 0xff, 0xff), deflated)), null, "one byte beyond the CRC16");
  });

  it("refuses a head whose optional fields end at or beyond its end: no deflate byte to try", async () => {
    assert.equal(await kindOf(gzip(4, extra(6))), null, "18 bytes, deflate would start at 18");
    assert.equal(await kindOf(gzip(4, extra(5), deflated.subarray(0, 1))), "gz", "one deflate byte at 17");
    assert.equal(await kindOf(gzip(4, extra(600), deflated).subarray(0, 100)), null, "XLEN beyond the head");
    assert.equal(await kindOf(gzip(2 | 8, latin1("abcdef\0"), bytes(0xff, 0xff))), null, "FHCRC ends the head");
    assert.equal(await kindOf(gzip(2 | 8, latin1("abcdef\0"), bytes(0xff, 0xff), deflated.subarray(0, 1))), "gz");
  });

  it("tries the deflate data: garbage is refused, output beyond 1 MiB is still gzip", async () => {
    assert.equal(await kindOf(gzip(0, Buffer.alloc(64, 0xff))), null, "invalid block type 3");
    assert.equal(await kindOf(gzip(0, bytes(0, 1, 0, 0, 0), deflated)), null, "stored lengths that disagree");
    assert.equal(await kindOf(gzip(0, bytes(0, 4, 0, 0xfb, 0xff), latin1("disk"), deflated)), "gz", "a stored block");
    // 4 MiB of zeros deflate to about 4 KiB; the head's inflation passes the 1 MiB trial bound.
    assert.equal(await kindOf(gzipSync(Buffer.alloc(4 << 20))), "gz");
    assert.equal(await kindOf(gzip(0, deflateRawSync(Buffer.alloc(2 << 20)))), "gz");
  });
});

/** An xz stream header: magic, stream flags, their CRC32 (little-endian). */
function xz(flag6 = 0, flag7 = 1): Buffer {
  const head = bytes(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, flag6, flag7, 0, 0, 0, 0);
  head.writeUInt32LE(crc32(head.subarray(6, 8)), 8);
  return head;
}

describe("xz stream headers at each boundary of detect.ts", () => {
  it("takes the 12-byte stream header and refuses 11: the CRC32 ends at byte 12", async () => {
    assert.equal(await kindOf(xz()), "xz");
    assert.equal(await kindOf(xz().subarray(0, 11)), null);
    assert.equal(await kindOf(Buffer.concat([xz(), Buffer.alloc(100)])), "xz");
  });

  it("refuses each of the 6 magic bytes changed: fd 37 7a 58 5a 00 is the whole magic", async () => {
    for (let at = 0; at < 6; at++) {
      const head = xz();
      head[at] ^= 0x01;
      assert.equal(await kindOf(head), null, `magic byte ${at}`);
    }
  });

  it("refuses stream flags outside the spec even with their CRC: byte 6 zero, byte 7's high nibble zero", async () => {
    for (const check of [0, 1, 4, 10, 15]) assert.equal(await kindOf(xz(0, check)), "xz", `check type ${check}`);
    for (const flag6 of [1, 0x80]) assert.equal(await kindOf(xz(flag6, 1)), null, `byte 6 = ${flag6}`);
    for (const flag7 of [0x10, 0x80, 0xf1]) assert.equal(await kindOf(xz(0, flag7)), null, `byte 7 = ${flag7}`);
  });

  it("refuses a stream header whose CRC32 is wrong in any of its 4 bytes", async () => {
    for (let at = 8; at < 12; at++) {
      const head = xz();
      head[at] ^= 0x40;
      assert.equal(await kindOf(head), null, `CRC byte ${at}`);
    }
  });
});

const BLOCK = [0x31, 0x41, 0x59, 0x26, 0x53, 0x59];
const END = [0x17, 0x72, 0x45, 0x38, 0x50, 0x90];
const bzip2 = (level: string, magic: number[]) => Buffer.concat([latin1(`BZh${level}`), bytes(...magic)]);

describe("bzip2 heads at each boundary of detect.ts", () => {
  it("takes 10 bytes and refuses 9: BZh, the level and a whole 6-byte magic", async () => {
    assert.equal(await kindOf(bzip2("9", BLOCK)), "bz2");
    assert.equal(await kindOf(bzip2("9", BLOCK).subarray(0, 9)), null);
    assert.equal(await kindOf(bzip2("9", END).subarray(0, 9)), null);
  });

  it("takes levels 1 to 9 and refuses 0 and ':': the block size is 100k times one digit", async () => {
    for (const level of "123456789") assert.equal(await kindOf(bzip2(level, BLOCK)), "bz2", level);
    for (const level of ["0", ":", "/", "a", " "]) assert.equal(await kindOf(bzip2(level, BLOCK)), null, level);
  });

  it("takes the block magic and the end-of-stream magic each: an empty stream has only the latter", async () => {
    assert.equal(await kindOf(bzip2("1", BLOCK)), "bz2");
    assert.equal(await kindOf(bzip2("1", END)), "bz2");
    assert.equal(await kindOf(Buffer.concat([bzip2("9", END), bytes(0, 0, 0, 0)])), "bz2");
  });

  it("refuses one wrong byte in either magic or in BZh: a near miss is not bzip2", async () => {
    for (const magic of [BLOCK, END])
      for (let i = 0; i < 6; i++) {
        const head = bzip2("9", magic);
        head[4 + i] ^= 0x02;
        assert.equal(await kindOf(head), null, `magic byte ${i} of ${magic[0]}`);
      }
    for (let at = 0; at < 3; at++) {
      const head = bzip2("9", BLOCK);
      head[at] ^= 0x20;
      assert.equal(await kindOf(head), null, `BZh byte ${at}`);
    }
    assert.equal(await kindOf(bzip2("9", [...BLOCK.slice(0, 3), ...END.slice(3)])), null, "half of each magic");
  });
});
