import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { codes, INT64_MAX, messages } from "./qcow2-image.ts";

const MiB = 1 << 20;
const cluster = 65536n;
const bad = (why: string) => `qcow2 header is corrupt: ${why}`;
const short = (what: string) => `qcow2 is truncated: the ${what} lies past the end of the file`;

describe("qcow2 refcount table", () => {
  test("none is refused", async () => {
    assert.deepEqual(await messages({ refcountClusters: 0 }), [bad("no refcount table")]);
  });

  test("8 MiB of refcount table is accepted, one cluster more refused", async () => {
    assert.deepEqual(await codes({ refcountClusters: 128, l1Offset: 129n * cluster, fileSize: 130 * 65536 }), []);
    assert.deepEqual(await messages({ refcountClusters: 129, l1Offset: 130n * cluster, fileSize: 131 * 65536 }), [
      bad("refcount table of 129 clusters is too large"),
    ]);
    assert.deepEqual(
      await codes({
        clusterBits: 9,
        size: 32768n,
        refcountClusters: 16384,
        l1Offset: 16385n * 512n,
        fileSize: 16386 * 512,
      }),
      [],
    );
    assert.deepEqual(
      await messages({
        clusterBits: 9,
        size: 32768n,
        refcountClusters: 16385,
        l1Offset: 16386n * 512n,
        fileSize: 16387 * 512,
      }),
      [bad("refcount table of 16385 clusters is too large")],
    );
  });

  test("its offset must be cluster aligned and outside the header's cluster", async () => {
    assert.deepEqual(await messages({ refcountOffset: cluster + 512n }), [bad("refcount table offset is invalid")]);
    assert.deepEqual(await messages({ refcountOffset: 0n, fileSize: 3 * 65536 }), [
      bad("refcount table overlaps the header"),
    ]);
  });

  test("its end must not pass INT64_MAX: the last aligned offset passes, the next does not", async () => {
    // 2^63 - 2 clusters ends below INT64_MAX (it is then past the end of the file); 2^63 - 1 cluster does not.
    assert.deepEqual(await messages({ refcountOffset: INT64_MAX + 1n - 2n * cluster }), [short("refcount table")]);
    assert.deepEqual(await messages({ refcountOffset: INT64_MAX + 1n - cluster }), [
      bad("refcount table offset is invalid"),
    ]);
    assert.deepEqual(await messages({ refcountOffset: INT64_MAX + 1n - 4n * cluster, refcountClusters: 2 }), [
      short("refcount table"),
    ]);
    assert.deepEqual(await messages({ refcountOffset: INT64_MAX + 1n - 2n * cluster, refcountClusters: 2 }), [
      bad("refcount table offset is invalid"),
    ]);
  });

  test("it must end inside the file: at its last byte is accepted", async () => {
    const fields = { l1Offset: cluster, refcountOffset: 2n * cluster };
    assert.deepEqual(await codes({ ...fields, fileSize: 3 * 65536 }), []);
    assert.deepEqual(await messages({ ...fields, fileSize: 3 * 65536 - 1 }), [short("refcount table")]);
  });
});

describe("qcow2 L1 table", () => {
  test("one entry covers 512 MiB with 64 KiB clusters, 256 MiB with extended L2 entries", async () => {
    assert.deepEqual(await codes({ size: 512n * 1024n * 1024n, l1Size: 1 }), []);
    assert.deepEqual(await messages({ size: 512n * 1024n * 1024n + 512n, l1Size: 1 }), [
      bad("L1 table is too small for the virtual size"),
    ]);
    assert.deepEqual(await codes({ size: 512n * 1024n * 1024n + 512n, l1Size: 2 }), []);
    assert.deepEqual(await codes({ size: 256n * 1024n * 1024n, l1Size: 1, incompatible: 16n }), []);
    assert.deepEqual(await messages({ size: 256n * 1024n * 1024n + 512n, l1Size: 1, incompatible: 16n }), [
      bad("L1 table is too small for the virtual size"),
    ]);
  });

  test("an empty disk needs no L1 table, which may then sit at offset 0", async () => {
    assert.deepEqual(await codes({ size: 0n, l1Size: 0, l1Offset: 0n }), []);
    assert.deepEqual(await codes({ size: 0n, l1Size: 0, l1Offset: 1n << 40n }), []);
    assert.deepEqual(await messages({ l1Offset: 0n }), [bad("L1 table overlaps the header")]);
    assert.deepEqual(await codes({ l1Offset: cluster, refcountOffset: 2n * cluster }), []);
  });

  test("32 MiB of L1 table is accepted, one entry more refused", async () => {
    const at = { l1Offset: 2n * cluster, size: 1n << 20n };
    assert.deepEqual(await codes({ ...at, l1Size: 4 * MiB, fileSize: 2 * 65536 + 32 * MiB }), []);
    assert.deepEqual(await messages({ ...at, l1Size: 4 * MiB + 1, fileSize: 2 * 65536 + 33 * MiB }), [
      bad(`L1 table of ${4 * MiB + 1} entries is too large`),
    ]);
  });

  test("a virtual size of 2^53 - 1 is a size, 2^53 is absurd", async () => {
    const largest = BigInt(Number.MAX_SAFE_INTEGER);
    assert.deepEqual(await messages({ size: largest, l1Size: 4 * MiB }), [
      bad("L1 table is too small for the virtual size"),
    ]);
    assert.deepEqual(await messages({ size: largest + 1n, l1Size: 4 * MiB }), [bad("virtual size is absurd")]);
  });

  test("needing 2^31 - 1 L1 entries is a size, 2^31 is absurd", async () => {
    // 512-byte clusters with extended L2 entries: one L1 entry covers 16 KiB.
    const fields = { clusterBits: 9, incompatible: 16n, l1Size: 1 };
    const largest = (2n ** 31n - 1n) * 16384n;
    assert.deepEqual(await messages({ ...fields, size: largest }), [bad("L1 table is too small for the virtual size")]);
    assert.deepEqual(await messages({ ...fields, size: largest + 1n }), [bad("virtual size is absurd")]);
  });

  test("its offset must be cluster aligned and its end below INT64_MAX", async () => {
    assert.deepEqual(await messages({ l1Offset: 2n * cluster + 8n }), [bad("L1 table offset is invalid")]);
    assert.deepEqual(await messages({ l1Offset: INT64_MAX + 1n - cluster }), [short("L1 table")]);
    assert.deepEqual(await messages({ l1Offset: INT64_MAX + 1n - cluster, l1Size: 8192 }), [
      bad("L1 table offset is invalid"),
    ]);
    assert.deepEqual(await messages({ l1Offset: INT64_MAX + 1n - 2n * cluster, l1Size: 8193 }), [short("L1 table")]);
  });

  test("it must end inside the file: at its last byte is accepted", async () => {
    assert.deepEqual(await codes({ l1Size: 3, fileSize: 2 * 65536 + 24 }), []);
    assert.deepEqual(await messages({ l1Size: 3, fileSize: 2 * 65536 + 23 }), [short("L1 table")]);
  });
});

describe("qcow2 snapshot table", () => {
  const at = 3n * cluster;

  test("65536 snapshots are accepted, 65537 refused", async () => {
    assert.deepEqual(await codes({ snapshots: 65536, snapshotsOffset: at, fileSize: 3 * 65536 + 65536 * 40 }), []);
    assert.deepEqual(await messages({ snapshots: 65537, snapshotsOffset: at, fileSize: 3 * 65536 + 65537 * 40 }), [
      bad("65537 snapshots is too many"),
    ]);
  });

  test("their offset must be aligned and outside the header's cluster unless there are none", async () => {
    assert.deepEqual(await messages({ snapshots: 1, snapshotsOffset: at + 40n, fileSize: 5 * 65536 }), [
      bad("snapshot table offset is invalid"),
    ]);
    assert.deepEqual(await messages({ snapshots: 1, snapshotsOffset: 0n }), [
      bad("snapshot table overlaps the header"),
    ]);
    assert.deepEqual(await codes({ snapshots: 0, snapshotsOffset: 0n }), []);
    assert.deepEqual(await codes({ snapshots: 1, snapshotsOffset: cluster, fileSize: 3 * 65536 }), []);
  });

  test("their end must not pass INT64_MAX", async () => {
    assert.deepEqual(await messages({ snapshots: 1, snapshotsOffset: INT64_MAX + 1n - cluster }), [
      short("snapshot table"),
    ]);
    // 1638 entries of 40 bytes fit in the last cluster below 2^63, 1639 do not.
    assert.deepEqual(await messages({ snapshots: 1638, snapshotsOffset: INT64_MAX + 1n - cluster }), [
      short("snapshot table"),
    ]);
    assert.deepEqual(await messages({ snapshots: 1639, snapshotsOffset: INT64_MAX + 1n - cluster }), [
      bad("snapshot table offset is invalid"),
    ]);
  });

  test("they must end inside the file: at its last byte is accepted", async () => {
    assert.deepEqual(await codes({ snapshots: 3, snapshotsOffset: at, fileSize: 3 * 65536 + 120 }), []);
    assert.deepEqual(await messages({ snapshots: 3, snapshotsOffset: at, fileSize: 3 * 65536 + 119 }), [
      short("snapshot table"),
    ]);
    assert.deepEqual(await codes({ snapshots: 0, snapshotsOffset: 1n << 40n }), []);
  });
});

describe("qcow2 header inside the file", () => {
  test("a file that ends where the header does truncates only its tables", async () => {
    assert.deepEqual(await messages({ fileSize: 112 }), [short("L1 table"), short("refcount table")]);
    assert.deepEqual(await messages({ fileSize: 111 }), [short("header"), short("L1 table"), short("refcount table")]);
    assert.deepEqual(await messages({ version: 2, fileSize: 72 }), [short("L1 table"), short("refcount table")]);
  });
});
