// extractOne on hand-built PAX extended headers ('x') and GNU long names ('L').
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  BLOCK,
  END,
  KiB,
  MiB,
  entry,
  extract,
  header,
  longNameEntry,
  paxEntry,
  record,
  refused,
} from "./tar-blocks.ts";

const A = "A".repeat(1000);
const member = (name = "header.raw", body = A) => entry({ name }, body);
const malformed = "a PAX header is malformed";

/** A PAX header of exactly `total` bytes: one comment record (of a 5-digit length) filling it. */
const paxOfSize = (total: number) => paxEntry({ comment: "c".repeat(total - "12345 comment=\n".length) });

describe("tar names from PAX headers and GNU long names", () => {
  it("takes the PAX path over the header's name, and a long name over both", async () => {
    assert.equal((await extract(Buffer.concat([paxEntry({ path: "pax.raw" }), member(), END]))).name, "pax.raw");
    assert.equal((await extract(Buffer.concat([longNameEntry("long.raw"), member(), END]))).name, "long.raw");
    const both = Buffer.concat([longNameEntry("long.raw"), paxEntry({ path: "pax.raw" }), member(), END]);
    assert.equal((await extract(both)).name, "long.raw");
  });

  it("cuts a long name at its NUL, and forgets a long name or a PAX header after the member", async () => {
    const junk = longNameEntry(Buffer.from("long.raw\0junk\0"));
    assert.equal((await extract(Buffer.concat([junk, member(), END]))).name, "long.raw");
    await refused(
      Buffer.concat([longNameEntry("long.raw"), member(), member("second.raw"), END]),
      "archive-entry",
      'the archive holds more than one member ("long.raw", "second.raw")',
    );
    await refused(
      Buffer.concat([paxEntry({ path: "pax.raw" }), member(), member("second.raw"), END]),
      "archive-entry",
      'the archive holds more than one member ("pax.raw", "second.raw")',
    );
  });

  it("counts a PAX record's length in bytes (a path in UTF-8)", async () => {
    const name = "d\u00efsk-\u00e9t\u00e9-\u2603.raw";
    assert.equal((await extract(Buffer.concat([paxEntry({ path: name, mtime: "1" }), member(), END]))).name, name);
  });

  it("reads the size of a PAX or long-name header from that header, never from an earlier PAX size", async () => {
    const long = Buffer.concat([paxEntry({ size: "5" }), longNameEntry("a-long-name.raw"), member("x", "12345"), END]);
    assert.deepEqual(await extract(long), { name: "a-long-name.raw", size: 5, layout: ["12345"] });
    const twice = Buffer.concat([paxEntry({ size: "5" }), paxEntry({ path: "pax-name.raw" }), member("x", "1234567")]);
    assert.deepEqual(await extract(Buffer.concat([twice, END])), {
      name: "pax-name.raw",
      size: 7,
      layout: ["1234567"],
    });
  });
});

describe("tar PAX sizes", () => {
  const sized = (size: string) => Buffer.concat([paxEntry({ size }), header({ name: "disk.raw", size: 10 }), END]);

  it("takes a PAX size over the header's", async () => {
    const archive = Buffer.concat([paxEntry({ size: "1000", mtime: "1" }), entry({ name: "d.raw", size: 0 }, A), END]);
    assert.deepEqual(await extract(archive), { name: "d.raw", size: 1000, layout: [A] });
    const zero = Buffer.concat([paxEntry({ size: "0000000000000000" }), header({ name: "d.raw", size: 10 }), END]);
    assert.deepEqual(await extract(zero), { name: "d.raw", size: 0, layout: [] });
  });

  it("refuses a PAX size that is not digits, longer than 16 digits, or unsafe", async () => {
    for (const size of ["", "abc", "+5", "5 ", "0x10", "-1", "00000000000000001", "9007199254740993"])
      await refused(sized(size), "archive-entry", "a PAX size is not a number");
  });
});

describe("tar PAX records", () => {
  const pax = (data: string) => Buffer.concat([paxEntry(data), member(), END]);

  it("refuses a record without a length, a space, a newline or an =", async () => {
    const cases = [
      "mtime=1\n", // no length, no space
      "12mtime=1\n", // no space
      "+12 mtime=1\n", // a sign is not a digit
      "12\t mtime=1\n", // nor is a tab
      "0x0d mtime=1\n", // nor hex
      "3 \n", // the length covers only itself
      "2 ",
      "0 ",
      "11 mtime=1\n0 ",
      "20 mtime=1\n", // past the data
      "11 mtime=1x", // not ended by a newline
      "12 mtimeabc\n", // no =
      "11 mtime=1\n11 mtime=1\r",
    ];
    for (const data of cases) await refused(pax(data), "archive-entry", malformed);
  });

  it("refuses an empty key and keys that change what is extracted", async () => {
    await refused(pax("6 =ab\n"), "archive-entry", 'a PAX header sets ""');
    for (const key of [
      "linkpath",
      "GNU.sparse.size",
      "SCHILY.realsize",
      "xmtime",
      "a.mtime",
      "SCHILY",
      "mtimex",
      "uid.path",
    ])
      await refused(pax(record(key, "1").toString()), "archive-entry", `a PAX header sets "${key}"`);
  });

  it("ignores the metadata keys (times, owners, xattrs, libarchive's)", async () => {
    const keys = ["mtime", "atime", "ctime", "uid", "gid", "uname", "gname", "comment", "charset", "hdrcharset"];
    const records = Object.fromEntries(keys.map((key) => [key, "1"]));
    const extra = { "SCHILY.xattr.user.x": "y", "SCHILY.dev": "1", "LIBARCHIVE.creationtime": "1" };
    const archive = Buffer.concat([paxEntry({ ...records, ...extra }), member(), END]);
    assert.deepEqual(await extract(archive), { name: "header.raw", size: 1000, layout: [A] });
  });
});

describe("tar PAX and long-name bounds", () => {
  it("reads a PAX header or a long name of 64 KiB, and refuses one byte more", async () => {
    assert.equal(paxOfSize(64 * KiB).length, BLOCK + 64 * KiB);
    assert.equal((await extract(Buffer.concat([paxOfSize(64 * KiB), member(), END]))).name, "header.raw");
    await refused(
      Buffer.concat([header({ name: "PaxHeader", type: "x", size: 64 * KiB + 1 }), END]),
      "archive-entry",
      "a PAX header of 65537 bytes is over the 65536-byte bound",
    );
    const name = (length: number) => longNameEntry(Buffer.from("long.raw".padEnd(length, "\0")));
    assert.equal((await extract(Buffer.concat([name(64 * KiB), member(), END]))).name, "long.raw");
    await refused(
      Buffer.concat([header({ name: "././@LongLink", type: "L", size: 64 * KiB + 1 }), END]),
      "archive-entry",
      "a long-name header of 65537 bytes is over the 65536-byte bound",
    );
  });

  it("counts PAX data in the 1 MiB of headers, before reading it", async () => {
    const dot = header({ name: "./", type: "5" });
    const dots = (count: number) => Buffer.concat(Array(count).fill(dot));
    const pax = paxOfSize(64 * KiB);
    // Blocks of headers read: the dots, the PAX header, the member's header, the end block; and 64 KiB of PAX data.
    const fits = MiB / BLOCK - 128 - 3;
    assert.equal((await extract(Buffer.concat([dots(fits), pax, member(), END]))).name, "header.raw");
    const bound = "more than 1048576 bytes of tar headers";
    await refused(Buffer.concat([dots(fits + 1), pax, member(), END]), "archive-entry", bound);
    // At the bound with the PAX data: it is read, and the cut-short archive found.
    await refused(Buffer.concat([dots(fits + 2), pax]), "truncated", "the tar archive is cut short");
    // Over it: refused before the PAX data is read.
    await refused(Buffer.concat([dots(fits + 3), pax.subarray(0, BLOCK)]), "archive-entry", bound);
  });

  it("refuses a PAX header or a long name cut short", async () => {
    const cut = "the tar archive is cut short";
    await refused(paxEntry({ path: "pax.raw" }).subarray(0, BLOCK + 10), "truncated", cut);
    await refused(longNameEntry("long.raw").subarray(0, BLOCK + 4), "truncated", cut);
    await refused(paxEntry({ path: "pax.raw" }).subarray(0, BLOCK + 100), "truncated", cut);
    // A whole block of records (no padding) cut short: found before the records are read.
    const block = paxEntry({ comment: "c".repeat(499) });
    assert.equal(block.length, 2 * BLOCK);
    await refused(block.subarray(0, BLOCK + 100), "truncated", cut);
    // Cut short in its padding: found before its records are read.
    await refused(paxEntry("mtime=1\n").subarray(0, BLOCK + 100), "truncated", cut);
  });
});
