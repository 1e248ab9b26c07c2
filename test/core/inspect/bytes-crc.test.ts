import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  asciiField,
  hex,
  isZero,
  matchAscii,
  printable,
  u16be,
  u16le,
  u32be,
  u32le,
  u64be,
  u64beBig,
  u64le,
  u64leBig,
  u8,
} from "../../../src/core/inspect/bytes.ts";
import { crc32, crc32c } from "../../../src/core/inspect/crc.ts";

const text = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
/** Bytes 0x11, 0x22, … 0x99, 0xaa (ten bytes). */
const TEN = Uint8Array.from({ length: 10 }, (_, i) => (i + 1) * 0x11);

describe("integer readers", () => {
  test("each reads its width in its byte order, up to the last byte and not past it", () => {
    const cases: [string, (b: Uint8Array, o: number) => number | bigint, number, number | bigint, number | bigint][] = [
      ["u8", u8, 1, 0xaa, 0],
      ["u16le", u16le, 2, 0xaa99, 0],
      ["u16be", u16be, 2, 0x99aa, 0],
      ["u32le", u32le, 4, 0xaa998877, 0],
      ["u32be", u32be, 4, 0x778899aa, 0],
      ["u64leBig", u64leBig, 8, 0xaa99887766554433n, 0n],
      ["u64beBig", u64beBig, 8, 0x33445566778899aan, 0n],
      ["u64le", u64le, 8, Number(0xaa99887766554433n), 0],
      ["u64be", u64be, 8, Number(0x33445566778899aan), 0],
    ];
    for (const [name, read, width, last, none] of cases) {
      assert.equal(read(TEN, TEN.length - width), last, `${name} at the last offset`);
      assert.equal(read(TEN, TEN.length - width + 1), none, `${name} one past`);
      assert.equal(read(TEN, -1), none, `${name} at -1`);
      assert.equal(read(TEN, 0.5), none, `${name} at 0.5`);
      assert.equal(read(TEN, Number.NaN), none, `${name} at NaN`);
      assert.equal(read(TEN, 2 ** 53), none, `${name} at 2^53`);
      assert.equal(read(TEN, Number.POSITIVE_INFINITY), none, `${name} at infinity`);
    }
  });

  test("they read from the view's own start, not its buffer's", () => {
    const view = TEN.subarray(2, 8);
    assert.equal(u8(view, 0), 0x33);
    assert.equal(u16le(view, 0), 0x4433);
    assert.equal(u32be(view, 2), 0x55667788);
    assert.equal(u32le(view, 3), 0);
    assert.equal(u64leBig(TEN.subarray(1, 9), 0), 0x9988776655443322n);
    assert.equal(u64beBig(TEN.subarray(2, 9), 0), 0n);
  });

  test("64-bit values are exact as bigints and rounded as numbers", () => {
    const all = new Uint8Array(8).fill(0xff);
    assert.equal(u64leBig(all, 0), 0xffffffffffffffffn);
    assert.equal(u64le(all, 0), 2 ** 64);
    assert.equal(u64be(Uint8Array.of(0, 0, 0, 0, 0, 0, 2, 0), 0), 512);
  });
});

describe("text helpers", () => {
  test("matchAscii compares every character at the offset, within the buffer", () => {
    const b = text("xQFI\xfb");
    assert.equal(matchAscii(b, 1, "QFI\xfb"), true);
    assert.equal(matchAscii(b, 1, "QFI\xfc"), false);
    assert.equal(matchAscii(b, 1, "qFI"), false);
    assert.equal(matchAscii(b, 0, "QFI"), false);
    assert.equal(matchAscii(b, 2, "FI\xfb?"), false);
    assert.equal(matchAscii(b, -1, "x"), false);
    assert.equal(matchAscii(b, 5, ""), true);
    assert.equal(matchAscii(b, 6, ""), false);
  });

  test("asciiField stops at the first NUL or the field's end, and shows only printable ASCII", () => {
    assert.equal(asciiField(text(" ~\x7f\x1fA\x80"), 0, 6), " ~??A?");
    assert.equal(asciiField(text("abc\0def"), 0, 7), "abc");
    assert.equal(asciiField(text("abcdef"), 2, 3), "cde");
    assert.equal(asciiField(text("abcdef"), 4, 10), "ef");
    assert.equal(asciiField(text("abcdef"), -2, 4), "ab");
    assert.equal(asciiField(text("abcdef"), 6, 4), "");
  });

  test("printable replaces what is not printable ASCII and cuts at max characters", () => {
    assert.equal(printable(" ~\x7f\x1f\u00e9"), " ~???");
    assert.equal(printable("a".repeat(80)), "a".repeat(80));
    assert.equal(printable("a".repeat(81)), `${"a".repeat(80)}…`);
    assert.equal(printable("abcd", 4), "abcd");
    assert.equal(printable("abcde", 4), "abcd…");
  });

  test("hex spells the range in two lower-case digits a byte, clipped to the buffer", () => {
    const b = Uint8Array.of(0x0a, 0xbc, 0x00, 0xff);
    assert.equal(hex(b, 0, 4), "0abc00ff");
    assert.equal(hex(b, 1, 2), "bc00");
    assert.equal(hex(b, 2, 10), "00ff");
    assert.equal(hex(b, -1, 2), "0a");
    assert.equal(hex(b, 4, 2), "");
  });

  test("isZero looks only inside the range", () => {
    const b = Uint8Array.of(1, 0, 0, 0, 1);
    assert.equal(isZero(b, 1, 3), true);
    assert.equal(isZero(b, 0, 3), false);
    assert.equal(isZero(b, 1, 4), false);
    assert.equal(isZero(b, 2, 0), true);
    assert.equal(isZero(b, -3, 3), true);
    assert.equal(isZero(b, -3, 4), false);
    assert.equal(isZero(b, 5, 3), true);
  });
});

describe("CRC-32 and CRC-32C", () => {
  test("known values (zlib's crc32; RFC 3720's CRC-32C vectors)", () => {
    const vectors: [Uint8Array, number, number][] = [
      [new Uint8Array(0), 0, 0],
      [text("a"), 0xe8b7be43, 0xc1d04330],
      [text("123456789"), 0xcbf43926, 0xe3069283],
      [new Uint8Array(32), 0x190a55ad, 0x8a9136aa],
      [new Uint8Array(32).fill(0xff), 0xff6cab0b, 0x62a8ab43],
      [Uint8Array.from({ length: 32 }, (_, i) => i), 0x91267e8a, 0x46dd794e],
      [text("The quick brown fox jumps over the lazy dog"), 0x414fa339, 0x22620404],
    ];
    for (const [bytes, ieee, castagnoli] of vectors) {
      assert.equal(crc32(bytes), ieee, `crc32 of ${bytes.length} bytes`);
      assert.equal(crc32c(bytes), castagnoli, `crc32c of ${bytes.length} bytes`);
    }
  });

  test("a previous result as the seed continues over the next chunk", () => {
    assert.equal(crc32(text("6789"), crc32(text("12345"))), 0xcbf43926);
    assert.equal(crc32c(text("6789"), crc32c(text("12345"))), 0xe3069283);
    assert.equal(crc32(new Uint8Array(0), 0xdeadbeef), 0xdeadbeef);
    assert.equal(crc32c(new Uint8Array(0), 0xdeadbeef), 0xdeadbeef);
  });

  test("a view is summed over its own bytes", () => {
    const framed = text("xx123456789yy").subarray(2, 11);
    assert.equal(crc32(framed), 0xcbf43926);
    assert.equal(crc32c(framed), 0xe3069283);
  });
});
