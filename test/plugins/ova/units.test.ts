import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bytesOf, positiveInteger } from "../../../src/plugins/ova/units.ts";

/** Asserts `run` throws an `ova-descriptor-invalid` refusal whose message is exactly `message`. */
function refuses(run: () => unknown, message: string): void {
  assert.throws(run, (error: Error & { code?: string }) => {
    assert.equal(error.code, "ova-descriptor-invalid");
    assert.equal(error.message, message);
    return true;
  });
}

describe("positiveInteger", () => {
  it("reads decimal digits, surrounding blanks allowed", () => {
    assert.equal(positiveInteger("4096", "x"), 4096);
    assert.equal(positiveInteger(" 7 ", "x"), 7);
    assert.equal(positiveInteger("\n12\t", "x"), 12);
    assert.equal(positiveInteger("0007", "x"), 7);
  });

  it("takes zero only when allowed", () => {
    refuses(() => positiveInteger("0", "the CPU count"), 'the CPU count is "0", not a count');
    assert.equal(positiveInteger("0", "the operating system id", true), 0);
    assert.equal(positiveInteger("000", "x", true), 0);
  });

  it("refuses what Number would read but is not plain digits", () => {
    for (const text of ["1e3", "0x10", "+5", "-5", "1.5", "1.0", "5 6", "12x", "x12", "", " ", "Infinity", "0b1"])
      refuses(() => positiveInteger(text, "the size"), `the size is ${JSON.stringify(text)}, not a count`);
  });

  it("accepts up to 2^53 - 1 and 16 digits, refuses past them", () => {
    assert.equal(positiveInteger(String(Number.MAX_SAFE_INTEGER), "x"), Number.MAX_SAFE_INTEGER);
    assert.equal(positiveInteger("0000000000000001", "x"), 1);
    refuses(() => positiveInteger("9007199254740992", "n"), 'n is "9007199254740992", not a count');
    refuses(() => positiveInteger("9999999999999999", "n"), 'n is "9999999999999999", not a count');
    refuses(() => positiveInteger("00000000000000001", "n"), 'n is "00000000000000001", not a count');
  });
});

describe("bytesOf", () => {
  const MiB = 2 ** 20;

  it("reads the older unit words, in any case and with blanks", () => {
    const cases: [string, number][] = [
      ["byte", 1],
      ["bytes", 1],
      ["Bytes", 1],
      ["KiloBytes", 2 ** 10],
      ["MegaBytes", MiB],
      [" megabytes ", MiB],
      ["GIGABYTES", 2 ** 30],
      ["TeraBytes", 2 ** 40],
    ];
    for (const [units, multiplier] of cases) assert.equal(bytesOf("3", units, "x"), 3 * multiplier, units);
  });

  it("reads DSP0004's programmatic units with or without blanks", () => {
    const cases: [string, number][] = [
      ["byte * 2^20", MiB],
      ["byte*2^20", MiB],
      ["bytes*2^30", 2 ** 30],
      ["byte *2^10", 2 ** 10],
      ["byte* 2^10", 2 ** 10],
      ["byte * 2 ^20", MiB],
      ["byte * 2^ 20", MiB],
      ["Byte  *  2  ^  20", MiB],
      ["byte * 10^9", 1e9],
      ["byte*10^3", 1000],
      ["byte * 2^0", 1],
      ["byte * 10^0", 1],
      ["byte * 2^50", 2 ** 50],
      ["byte * 10^15", 1e15],
      ["byte * 2^07", 2 ** 7],
    ];
    for (const [units, multiplier] of cases) assert.equal(bytesOf("1", units, "x"), multiplier, units);
    assert.equal(bytesOf("16", "byte * 2^30", "the capacity"), 16 * 2 ** 30);
  });

  it("refuses other units, naming them", () => {
    for (const units of [
      "byte * 2^51",
      "byte * 2^99",
      "byte * 10^16",
      "byte * 10^99",
      "byte * 3^2",
      "byte * 2^205",
      "byte * 2^20x",
      "xbyte * 2^20",
      "byte * 2^",
      "byte * 2^100",
      "byte * 20",
      "bit * 2^20",
      "byte / 2^20",
      "kilobyte",
      "KB",
      "",
      "constructor",
      "toString",
      "__proto__",
      "hertz * 10^6",
    ])
      refuses(
        () => bytesOf("1", units, 'the capacity of disk "d"'),
        `the capacity of disk "d" has the units ${JSON.stringify(units)}`,
      );
  });

  it("refuses a quantity that is not a count before looking at the units", () => {
    refuses(() => bytesOf("0", "bogus", "the memory"), 'the memory is "0", not a count');
    refuses(() => bytesOf("-1", "byte", "the memory"), 'the memory is "-1", not a count');
  });

  it("refuses a product past 2^53 - 1, accepts one just below", () => {
    assert.equal(bytesOf(String(2 ** 23 - 1), "byte * 2^30", "x"), (2 ** 23 - 1) * 2 ** 30);
    assert.equal(bytesOf("8191", "byte * 2^40", "x"), 8191 * 2 ** 40);
    refuses(() => bytesOf(String(2 ** 23), "byte * 2^30", "the capacity"), "the capacity is too large");
    refuses(() => bytesOf("8", "byte * 2^50", "the capacity"), "the capacity is too large");
    refuses(() => bytesOf("10", "byte * 10^15", "the capacity"), "the capacity is too large");
    assert.equal(bytesOf("9", "byte * 10^15", "x"), 9e15);
    refuses(() => bytesOf("8192", "TeraBytes", "the capacity"), "the capacity is too large");
  });
});
