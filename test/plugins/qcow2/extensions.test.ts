import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { qcow2Detector } from "../../../src/plugins/qcow2/detect.ts";
import {
  codes,
  detect,
  EXT_BACKING_FORMAT,
  EXT_BITMAPS,
  EXT_CRYPTO,
  EXT_DATA_FILE,
  messages,
  qcow2Reader,
  text,
  type Extension,
} from "./qcow2-image.ts";
import { countingReader } from "../../core/inspect/readers.ts";

const larger = "qcow2 header extensions are corrupt: an extension is larger than the header area";
const pastWindow = "qcow2 header extensions are corrupt: they run past the first 64 KiB";
/** An extension of a type qemu does not know, with `length` bytes of data. */
const unknown = (length: number, fill = 0x61): Extension => ({
  magic: 0x11223344,
  data: new Uint8Array(length).fill(fill),
});
/** A backing file whose name starts at `at`: the extensions must end there. */
const backing = (at: number) => ({
  backingOffset: BigInt(at),
  backingSize: 4,
  regions: [{ offset: at, bytes: text("base") }],
});

describe("qcow2 header extensions", () => {
  test("a data file extension is refused and named, even without its feature bit", async () => {
    const found = await detect({ extensions: [{ magic: EXT_DATA_FILE, data: text("/etc/shadow") }] });
    assert.deepEqual(found.problems, [
      { code: "qcow2-data-file", message: 'qcow2 names an external data file "/etc/shadow"' },
    ]);
    assert.deepEqual(await messages({ extensions: [{ magic: EXT_DATA_FILE }] }), ["qcow2 names an external data file"]);
  });

  test("backing format, encryption header and bitmaps are reported in the details", async () => {
    const found = await detect({
      cryptMethod: 2,
      extensions: [
        { magic: EXT_BACKING_FORMAT, data: text("qcow2") },
        { magic: EXT_CRYPTO, data: new Uint8Array(16) },
        { magic: EXT_BITMAPS, data: new Uint8Array(24) },
      ],
    });
    assert.deepEqual(found.problems, []);
    assert.deepEqual(
      [found.details?.backingFormat, found.details?.encryptionHeader, found.details?.bitmaps],
      ["qcow2", true, true],
    );
  });

  test("an empty backing format and unknown extensions name none of them in the details", async () => {
    const found = await detect({ extensions: [{ magic: EXT_BACKING_FORMAT }, unknown(8)] });
    assert.deepEqual(
      Object.keys(found.details ?? {}).filter((key) => ["backingFormat", "encryptionHeader", "bitmaps"].includes(key)),
      [],
    );
  });

  test("a backing format name is cut to 32 characters and made printable", async () => {
    const found = await detect({ extensions: [{ magic: EXT_BACKING_FORMAT, data: text(`a\n${"b".repeat(38)}`) }] });
    assert.equal(found.details?.backingFormat, `a?${"b".repeat(30)}`);
  });

  test("extensions are padded to 8 bytes: each is found after one of any length", async () => {
    for (const length of [1, 5, 7, 8, 9, 15]) {
      const found = await detect({
        extensions: [unknown(length), { magic: EXT_BITMAPS }, unknown(3), { magic: EXT_DATA_FILE, data: text("x") }],
      });
      assert.deepEqual(
        found.problems.map((p) => p.message),
        ['qcow2 names an external data file "x"'],
        `after ${length} bytes`,
      );
      assert.equal(found.details?.bitmaps, true, `after ${length} bytes`);
    }
  });

  test("the end marker ends the walk: what follows it is not read", async () => {
    assert.deepEqual(
      await codes({ extensions: [unknown(8), { magic: 0 }, { magic: EXT_DATA_FILE, data: text("x") }] }),
      [],
    );
  });

  test("a v2 image's extensions start at byte 72", async () => {
    assert.deepEqual(await codes({ version: 2, extensions: [{ magic: EXT_DATA_FILE, data: text("x") }] }), [
      "qcow2-data-file",
    ]);
  });

  test("a v3 image's extensions start at its header length", async () => {
    const found = await detect({ headerLength: 120, extensions: [{ magic: EXT_BITMAPS }] });
    assert.deepEqual([found.problems, found.details?.bitmaps], [[], true]);
    assert.equal(
      (await detect({ headerLength: 120, extensionsAt: 112, extensions: [{ magic: EXT_BITMAPS }] })).details?.bitmaps,
      undefined,
    );
  });
});

describe("qcow2 header extensions' bounds", () => {
  // A backing name at 200 leaves 88 bytes of extensions after a 112-byte header.
  test("an extension may fill the area up to the backing file name, not one byte more", async () => {
    assert.deepEqual(await codes({ ...backing(200), extensions: [unknown(80)] }), ["qcow2-backing-file"]);
    assert.deepEqual(await messages({ ...backing(200), extensions: [unknown(81)] }), [
      "qcow2 names a backing file, which qemu-img would open from the host",
      larger,
    ]);
    assert.deepEqual(
      await messages({ ...backing(200), extensions: [unknown(8), { magic: EXT_DATA_FILE, length: 0xffffffff }] }).then(
        (m) => m.slice(1),
      ),
      [larger],
    );
  });

  test("an end marker in the area's last 8 bytes is read, one straddling its end is not", async () => {
    assert.deepEqual(await codes({ ...backing(200), extensions: [unknown(72)] }), ["qcow2-backing-file"]);
    assert.deepEqual(await messages({ ...backing(196), extensions: [unknown(72)] }).then((m) => m.slice(1)), [larger]);
  });

  test("without a backing file the area ends with the first cluster", async () => {
    assert.deepEqual(await codes({ clusterBits: 9, size: 32768n, extensions: [unknown(392)] }), []);
    assert.deepEqual(await messages({ clusterBits: 9, size: 32768n, extensions: [unknown(393)] }), [larger]);
    assert.deepEqual(await codes({ clusterBits: 9, size: 32768n, extensions: [unknown(384)] }), []);
  });

  test("a backing file name before the header's end leaves no extensions to read", async () => {
    assert.deepEqual(
      await codes({ backingOffset: 8n, backingSize: 4, extensions: [{ magic: EXT_DATA_FILE, data: text("x") }] }),
      ["qcow2-backing-file"],
    );
    assert.deepEqual(await codes({ ...backing(112), extensions: [{ magic: EXT_DATA_FILE, data: text("x") }] }), [
      "qcow2-backing-file",
    ]);
  });

  test("with large clusters only the first 64 KiB are read, and the extensions must end inside", async () => {
    const { reader, stats } = countingReader(qcow2Reader({ clusterBits: 21, extensions: [unknown(65520)] }));
    const found = await qcow2Detector.detect(reader, {});
    assert.deepEqual(found?.problems, []);
    assert.deepEqual(stats.ranges, [
      [0, 512],
      [112, 65536],
    ]);
    assert.deepEqual(await messages({ clusterBits: 17, extensions: [unknown(65521)] }), [pastWindow]);
    assert.deepEqual(await messages({ clusterBits: 21, extensions: [unknown(65521)] }), [pastWindow]);
    assert.deepEqual(await codes({ clusterBits: 17, extensions: [unknown(65528)] }), ["qcow2-corrupt-header"]);
  });

  test("an extension whose data runs past the first 64 KiB is refused before it is read", async () => {
    assert.deepEqual(
      await messages({
        clusterBits: 17,
        extensions: [{ magic: EXT_DATA_FILE, data: new Uint8Array(65536).fill(0x61) }],
      }),
      [pastWindow],
    );
    assert.deepEqual(
      await codes({ clusterBits: 17, extensions: [{ magic: EXT_DATA_FILE, data: new Uint8Array(65528).fill(0x61) }] }),
      ["qcow2-data-file", "qcow2-corrupt-header"],
    );
  });

  test("small areas are read whole, and only them", async () => {
    const { reader, stats } = countingReader(qcow2Reader({ clusterBits: 9, size: 32768n }));
    await qcow2Detector.detect(reader, {});
    assert.deepEqual(stats.ranges, [
      [0, 512],
      [112, 400],
    ]);
  });

  test("an area of exactly 64 KiB is read whole; a file ending inside it ends the walk", async () => {
    // 128 KiB clusters and a 64 KiB header leave exactly 64 KiB of extensions; the file ends 16 bytes in.
    const fields = { clusterBits: 17, headerLength: 65536, extensions: [unknown(8)], fileSize: 65536 + 16 };
    assert.deepEqual(await codes(fields), ["truncated", "truncated"]);
    assert.deepEqual(await messages({ ...fields, headerLength: 65535, fileSize: 65535 + 16 }), [pastWindow]);
  });

  test("an extension running past the end of a short file is read as far as the file goes", async () => {
    const found = await detect({
      extensions: [{ magic: EXT_DATA_FILE, data: text("host-file-name") }],
      fileSize: 112 + 8 + 4,
    });
    assert.deepEqual(found.problems, [
      { code: "qcow2-data-file", message: 'qcow2 names an external data file "host"' },
    ]);
  });
});
