import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { qcow2Detector } from "../../../src/plugins/qcow2/detect.ts";
import { codes, detect, EXT_DATA_FILE, headerBytes, messages, qcow2Fields, text } from "./qcow2-image.ts";
import { memoryReader } from "../../core/inspect/readers.ts";

const corrupt = "qcow2-corrupt-header";

describe("qcow2 detection", () => {
  test("a valid v3 image: format, variant, virtual size and every detail", async () => {
    const found = await detect();
    const details = {
      version: 3,
      compat: "1.1",
      clusterSize: 65536,
      encryption: "none",
      dirty: false,
      corrupt: false,
      extendedL2: false,
      lazyRefcounts: false,
      compressionType: "zlib",
      refcountBits: 16,
      snapshots: 0,
    };
    assert.deepEqual(found, {
      format: "qcow2",
      variant: "v3",
      virtualSize: 1048576,
      problems: [],
      details,
      headers: [{ format: "qcow2", virtualSize: 1048576, details }],
    });
  });

  test("a valid v2 image reads no v3 field: refcounts are 16 bits, whatever follows byte 72", async () => {
    // v3 fields of a v2 header are extension bytes: unknown feature bits, odd header length and order.
    const data = new Uint8Array(40).fill(0xff);
    data[24] = 1; // byte 104, where a v3 header keeps its compression type
    const found = await detect({ version: 2, extensions: [{ magic: 0x12345678, data }] });
    assert.deepEqual(found.problems, []);
    assert.equal(found.variant, "v2");
    assert.equal(found.details?.compat, "0.10");
    assert.equal(found.details?.refcountBits, 16);
    assert.equal(found.details?.compressionType, "zlib");
    assert.equal(found.details?.dirty, false);
  });

  test("version 1 and other magics are not qcow2; versions 0 and 4 are refused", async () => {
    const header = (version: number) =>
      Buffer.from(headerBytes(qcow2Fields({ version: 2 })))
        .fill(0, 4, 8)
        .fill(version, 7, 8);
    assert.equal(await qcow2Detector.detect(memoryReader(65536, [{ offset: 0, bytes: header(1) }]), {}), null);
    const other = Buffer.from(header(3));
    other[3] = 0xfa;
    assert.equal(await qcow2Detector.detect(memoryReader(65536, [{ offset: 0, bytes: other }]), {}), null);
    for (const version of [0, 4]) {
      const found = await qcow2Detector.detect(memoryReader(65536, [{ offset: 0, bytes: header(version) }]), {});
      assert.deepEqual(found, {
        format: "qcow2",
        problems: [{ code: "qcow2-version", message: `qcow2 version ${version} is not 2 or 3` }],
        details: { version },
      });
    }
  });

  test("a file shorter than the 72-byte v2 header is truncated; 72 bytes are parsed", async () => {
    const v2 = headerBytes(qcow2Fields({ version: 2 }));
    const short = await qcow2Detector.detect(memoryReader(71, [{ offset: 0, bytes: v2 }]), {});
    assert.deepEqual(short, {
      format: "qcow2",
      problems: [{ code: "truncated", message: "qcow2 header is truncated" }],
    });
    const whole = await qcow2Detector.detect(memoryReader(72, [{ offset: 0, bytes: v2 }]), {});
    assert.equal(whole?.variant, "v2");
    assert.deepEqual(
      whole?.problems.map((p) => p.message),
      [
        "qcow2 is truncated: the L1 table lies past the end of the file",
        "qcow2 is truncated: the refcount table lies past the end of the file",
      ],
    );
  });

  test("virtual size is rounded down to 512 bytes; an unsafe size has none and is not announced", async () => {
    const odd = await detect({ size: 1000n });
    assert.equal(odd.virtualSize, 512);
    assert.equal(odd.headers[0]?.virtualSize, 512);
    const safe = await detect({ size: BigInt(Number.MAX_SAFE_INTEGER), l1Size: 1 });
    assert.equal(safe.virtualSize, Number.MAX_SAFE_INTEGER - 511);
    assert.equal(safe.headers.length, 1);
    const unsafe = await detect({ size: BigInt(Number.MAX_SAFE_INTEGER) + 1n, l1Size: 1 });
    assert.equal(unsafe.virtualSize, undefined);
    assert.deepEqual(unsafe.headers, []);
    assert.deepEqual(
      unsafe.problems.map((p) => p.message),
      ["qcow2 header is corrupt: virtual size is absurd"],
    );
  });
});

describe("qcow2 reaching outside the image", () => {
  test("a backing file offset or a backing name length alone is a backing file", async () => {
    assert.deepEqual(await codes({ backingOffset: 512n }), ["qcow2-backing-file"]);
    assert.deepEqual(await codes({ backingSize: 8 }), ["qcow2-backing-file"]);
    assert.deepEqual(await codes({ backingOffset: 65536n, backingSize: 8 }), ["qcow2-backing-file"]);
  });

  test("the backing file offset may be the cluster size, not one byte more", async () => {
    assert.deepEqual(await messages({ backingOffset: 65537n, backingSize: 8 }), [
      "qcow2 names a backing file, which qemu-img would open from the host",
      "qcow2 header is corrupt: backing file offset lies beyond the first cluster",
    ]);
  });

  test("the external data file bit is refused, the dirty, corrupt and extended L2 bits are not", async () => {
    assert.deepEqual(await codes({ incompatible: 4n }), ["qcow2-data-file"]);
    const found = await detect({ incompatible: 1n | 2n | 16n });
    assert.deepEqual(found.problems, []);
    assert.deepEqual([found.details?.dirty, found.details?.corrupt, found.details?.extendedL2], [true, true, true]);
  });

  test("unknown incompatible bits are refused and named, up to bit 63", async () => {
    assert.deepEqual(await detect({ incompatible: (1n << 5n) | (1n << 63n) | 1n }).then((f) => f.problems), [
      { code: "qcow2-unknown-features", message: "qcow2 sets unknown incompatible feature bits 5, 63" },
    ]);
    assert.deepEqual(await messages({ incompatible: 1n << 6n }), ["qcow2 sets unknown incompatible feature bits 6"]);
  });

  test("a refused header hides its extensions: they are not walked", async () => {
    const dataFile = { magic: EXT_DATA_FILE, data: text("host.raw") };
    assert.deepEqual(await codes({ refcountOrder: 7, extensions: [dataFile] }), [corrupt]);
    assert.deepEqual(await codes({ backingSize: 8, extensions: [dataFile] }), [
      "qcow2-backing-file",
      "qcow2-data-file",
    ]);
  });

  test("a refused header is not checked against the file size", async () => {
    assert.deepEqual(await codes({ backingSize: 8, fileSize: 4096 }), ["qcow2-backing-file"]);
    assert.deepEqual(await codes({ fileSize: 4096 }), ["truncated", "truncated"]);
  });
});

describe("qcow2 header fields", () => {
  test("cluster bits 9 and 21 are accepted, 8 and 22 refused alone", async () => {
    assert.deepEqual((await detect({ clusterBits: 9, size: 32768n })).details?.clusterSize, 512);
    assert.deepEqual(await codes({ clusterBits: 9, size: 32768n }), []);
    assert.deepEqual((await detect({ clusterBits: 21 })).details?.clusterSize, 2097152);
    assert.deepEqual(await codes({ clusterBits: 21 }), []);
    for (const clusterBits of [8, 22]) {
      const found = await detect({
        clusterBits,
        l1Size: 1,
        refcountOffset: 1n << 22n,
        l1Offset: 1n << 23n,
        fileSize: 1 << 24,
        backingSize: 8,
      });
      assert.deepEqual(found.problems, [
        { code: corrupt, message: `qcow2 header is corrupt: cluster_bits ${clusterBits} is outside 9..21` },
      ]);
      assert.equal(found.details?.clusterSize, undefined);
    }
  });

  test("a v3 header length of 104 up to the cluster size is accepted, 103 and one past it refused", async () => {
    assert.deepEqual(await codes({ headerLength: 104 }), []);
    assert.deepEqual(await codes({ clusterBits: 9, size: 32768n, headerLength: 512 }), []);
    assert.deepEqual(await messages({ headerLength: 103 }), [
      "qcow2 header is corrupt: header_length 103 is below 104",
    ]);
    assert.deepEqual(await messages({ clusterBits: 9, size: 32768n, headerLength: 513 }), [
      "qcow2 header is corrupt: header_length 513 exceeds the cluster size",
    ]);
  });

  test("refcount order 6 is 64-bit refcounts, 7 is refused", async () => {
    const found = await detect({ refcountOrder: 6 });
    assert.deepEqual([found.problems, found.details?.refcountBits], [[], 64]);
    const bad = await detect({ refcountOrder: 7 });
    assert.deepEqual(
      bad.problems.map((p) => p.message),
      ["qcow2 header is corrupt: refcount_order 7 is above 6"],
    );
    assert.equal(bad.details?.refcountBits, undefined);
  });

  test("zstd needs both the compression type byte and its feature bit", async () => {
    const zstd = await detect({ compressionType: 1, incompatible: 8n });
    assert.deepEqual([zstd.problems, zstd.details?.compressionType], [[], "zstd"]);
    const disagree = "qcow2 header is corrupt: compression type and its incompatible feature bit disagree";
    assert.deepEqual(await messages({ compressionType: 1 }), [disagree]);
    assert.deepEqual(await messages({ incompatible: 8n }), [disagree]);
    assert.deepEqual(await messages({ compressionType: 2, incompatible: 8n }), [
      "qcow2 header is corrupt: unknown compression type 2",
    ]);
  });

  test("the compression type byte exists only in a header longer than 104 bytes", async () => {
    // With a 104-byte header, byte 104 is the first extension's type (0xe2 here), not a compression type.
    const found = await detect({ headerLength: 104, extensions: [{ magic: 0xe2792aca, data: text("raw") }] });
    assert.deepEqual(found.problems, []);
    assert.equal(found.details?.compressionType, "zlib");
    assert.equal(found.details?.backingFormat, "raw");
  });

  test("encryption methods 0, 1 and 2 are named, 3 is refused", async () => {
    for (const [cryptMethod, name] of [
      [0, "none"],
      [1, "aes"],
      [2, "luks"],
    ] as const) {
      const found = await detect({ cryptMethod });
      assert.deepEqual([found.problems, found.details?.encryption], [[], name]);
    }
    const bad = await detect({ cryptMethod: 3 });
    assert.deepEqual(
      [bad.problems.map((p) => p.message), bad.details?.encryption],
      [["qcow2 header is corrupt: unknown encryption method 3"], "unknown"],
    );
  });

  test("lazy refcounts and the snapshot count are reported", async () => {
    const found = await detect({ compatible: 1n, snapshots: 2, snapshotsOffset: 3n * 65536n, fileSize: 4 * 65536 });
    assert.deepEqual([found.problems, found.details?.lazyRefcounts, found.details?.snapshots], [[], true, 2]);
  });
});
