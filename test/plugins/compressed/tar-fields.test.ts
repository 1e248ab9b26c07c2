// extractOne on hand-built headers: names, type flags, numeric fields, the header and trailing bounds.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  BLOCK,
  END,
  type Field,
  type HeaderFields,
  MiB,
  entry,
  extract,
  header,
  longNameEntry,
  paxEntry,
  refused,
  withChecksum,
} from "./tar-blocks.ts";

const A = "A".repeat(1000);
const one = (fields: HeaderFields, body: string = A) => Buffer.concat([entry(fields, body), END]);

describe("tar names", () => {
  it("joins a POSIX ustar prefix to the name, and ignores the prefix bytes of an old GNU header", async () => {
    assert.equal((await extract(one({ name: "disk.raw", prefix: "images/x" }))).name, "images/x/disk.raw");
    assert.equal((await extract(one({ name: "disk.raw", prefix: "images", magic: "gnu" }))).name, "disk.raw");
    assert.equal((await extract(one({ name: "disk.raw", prefix: "" }))).name, "disk.raw");
    // The name field is cut at its NUL: bytes after it (as old tars leave) are not part of it.
    const dirty = header({ name: "disk.raw\0garbage", size: 0 });
    assert.equal((await extract(Buffer.concat([dirty, END]))).name, "disk.raw");
  });

  it("refuses an empty, an absolute or a climbing name, and accepts dots inside a component", async () => {
    await refused(one({ name: "" }), "archive-entry", "a member has no name");
    await refused(one({ name: "/disk.raw" }), "archive-entry", '"/disk.raw" is an absolute path');
    await refused(
      one({ name: "a/../../disk.raw" }),
      "archive-entry",
      '"a/../../disk.raw" climbs out of the archive (..)',
    );
    await refused(one({ name: ".." }), "archive-entry", /climbs out/);
    assert.equal((await extract(one({ name: "a..b/c..raw" }))).name, "a..b/c..raw");
  });

  it("shows at most 200 characters of a name in a refusal", async () => {
    const name = (length: number) => `/${"n".repeat(length - 1)}`;
    await refused(
      Buffer.concat([longNameEntry(name(200)), entry({ name: "x" }, A), END]),
      "archive-entry",
      `"${name(200)}" is an absolute path`,
    );
    await refused(
      Buffer.concat([longNameEntry(name(201)), entry({ name: "x" }, A), END]),
      "archive-entry",
      `"${name(200)}…" is an absolute path`,
    );
  });

  it("escapes C1 and bidirectional control characters of a name in a refusal", async () => {
    const evil = "evil\u009b31m\u202egpj.raw";
    const archive = Buffer.concat([paxEntry({ path: `/${evil}` }), entry({ name: "x" }, A), END]);
    await refused(archive, "archive-entry", '"/evil\\u009b31m\\u202egpj.raw" is an absolute path');
    const odd = Buffer.concat([header({ name: "disk.raw", type: "\x9b" }), END]);
    await refused(odd, "archive-entry", '"disk.raw" is an unsupported entry (type "\\u009b")');
  });
});

describe("tar entry types", () => {
  it("reads a regular file of type 0, NUL (old tars) and 7 (contiguous)", async () => {
    for (const type of ["0", "", "7"]) {
      const member = await extract(one({ name: "disk.raw", type }));
      assert.deepEqual(member, { name: "disk.raw", size: 1000, layout: [A] }, JSON.stringify(type));
    }
  });

  it("refuses links, devices, FIFOs, global PAX headers, GNU long link names and unknown types", async () => {
    const kinds: Array<[string, string]> = [
      ["1", "a hard link"],
      ["2", "a symbolic link"],
      ["3", "a character device"],
      ["4", "a block device"],
      ["6", "a FIFO"],
      ["g", "a global PAX header"],
      ["K", "a GNU long link name"],
      ["V", 'an unsupported entry (type "V")'],
    ];
    for (const [type, kind] of kinds)
      await refused(Buffer.concat([header({ name: "disk.raw", type }), END]), "archive-entry", `"disk.raw" is ${kind}`);
  });

  it('accepts "." and "./" as directories, refuses any other, and forgets a PAX path after one', async () => {
    const dot = header({ name: ".", type: "5" });
    const dotSlash = header({ name: "./", type: "5" });
    const member = entry({ name: "disk.raw" }, A);
    assert.equal((await extract(Buffer.concat([dot, dotSlash, member, END]))).name, "disk.raw");
    await refused(
      Buffer.concat([header({ name: "dir/", type: "5" }), member, END]),
      "archive-entry",
      '"dir/" is a directory',
    );
    const named = Buffer.concat([paxEntry({ path: "./" }), dotSlash, member, END]);
    assert.equal((await extract(named)).name, "disk.raw");
  });

  it("refuses a second member (naming both), and an archive without one", async () => {
    const two = Buffer.concat([entry({ name: "a.raw" }, A), entry({ name: "b.raw" }, A), END]);
    await refused(two, "archive-entry", 'the archive holds more than one member ("a.raw", "b.raw")');
    await refused(
      Buffer.concat([header({ name: "./", type: "5" }), END]),
      "archive-entry",
      "the archive holds no file",
    );
    await refused(END, "archive-entry", "the archive holds no file");
  });
});

describe("tar numeric fields", () => {
  const sized = (size: Field, body = A) =>
    Buffer.concat([header({ name: "disk.raw", size }), Buffer.from(body.padEnd(1024, "\0"), "latin1"), END]);

  it("reads octal ended by a NUL or a space, after leading spaces, and an empty field as 0", async () => {
    for (const field of ["00000001750\0", "00000001750 ", "   1750    ", " 1750 50\0\0\0", "1750 5\0", "1750\0 9"])
      assert.equal((await extract(sized(field))).size, 1000, JSON.stringify(field));
    assert.deepEqual(await extract(Buffer.concat([header({ name: "disk.raw" }), END])), {
      name: "disk.raw",
      size: 0,
      layout: [],
    });
  });

  it("refuses a digit that is not octal", async () => {
    for (const field of ["8", "18", "81", "17+"])
      await refused(sized(field), "archive-entry", "a number in a tar header is not octal");
  });

  it("reads GNU base-256 exactly, and refuses a negative or an unsafe one", async () => {
    assert.deepEqual(await extract(sized(1000n)), { name: "disk.raw", size: 1000, layout: [A] });
    // 2^33 + 5 bytes declared: the reader copies what there is, then finds the archive cut short.
    await refused(sized(2n ** 33n + 5n), "truncated", "the tar archive is cut short");
    const negative = Buffer.alloc(12, 0xff);
    await refused(sized(negative), "archive-entry", "a negative or oversized number in a tar header");
    await refused(sized(Buffer.from([0x81, ...Buffer.alloc(11)])), "archive-entry", /negative or oversized/);
    await refused(sized(2n ** 53n), "archive-entry", "an oversized number in a tar header");
    await refused(sized(Buffer.from([0x80, 1, ...Buffer.alloc(10)])), "archive-entry", /^an oversized number/);
  });
});

describe("tar bounds and truncation", () => {
  const dot = header({ name: "./", type: "5" });
  const member = entry({ name: "disk.raw" }, A);
  const dots = (count: number) => Buffer.concat(Array(count).fill(dot));

  it("reads 1 MiB of headers (the end block counted) and refuses one block more", async () => {
    const headers = MiB / BLOCK;
    assert.equal((await extract(Buffer.concat([dots(headers - 2), member, END]))).name, "disk.raw");
    await refused(
      Buffer.concat([dots(headers - 1), member, END]),
      "archive-entry",
      "more than 1048576 bytes of tar headers",
    );
  });

  it("accepts zeroes after the end up to 1 MiB, and refuses more or anything else", async () => {
    const ended = Buffer.concat([member, Buffer.alloc(BLOCK)]);
    assert.equal((await extract(Buffer.concat([ended, Buffer.alloc(MiB)]))).size, 1000);
    assert.equal((await extract(ended)).size, 1000);
    const message = "data follows the end of the archive";
    await refused(Buffer.concat([ended, Buffer.alloc(MiB + 1)]), "archive-entry", message);
    await refused(Buffer.concat([ended, Buffer.alloc(700 * 1024), Buffer.from([1])]), "archive-entry", message);
  });

  it("refuses an archive cut short in a header, in data, in padding, or before its end block", async () => {
    const cut = "the tar archive is cut short";
    await refused(Buffer.alloc(0), "truncated", cut);
    await refused(Buffer.alloc(100), "truncated", cut);
    await refused(member.subarray(0, 300), "truncated", cut);
    await refused(member.subarray(0, BLOCK + 999), "truncated", cut);
    await refused(member.subarray(0, BLOCK + 1010), "truncated", cut);
    await refused(member, "truncated", cut);
    await refused(Buffer.concat([member, Buffer.alloc(200)]), "truncated", cut);
  });

  it("checks the header checksum", async () => {
    const bad = Buffer.from(header({ name: "disk.raw", size: 0 }));
    bad[0] = 0x62;
    await refused(Buffer.concat([bad, END]), "archive-entry", "a tar header is not valid (bad magic or checksum)");
    assert.equal((await extract(Buffer.concat([withChecksum(bad), END]))).name, "bisk.raw");
  });
});
