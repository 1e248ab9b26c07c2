import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ploopDetector } from "../../../src/plugins/ploop/detect.ts";
import type { Detection, HeaderFacts } from "../../../src/core/inspect/types.ts";
import { memoryReader } from "../../core/inspect/readers.ts";

const INT32_MAX = 2 ** 31 - 1;
const corrupt = (why: string) => ({ code: "ploop-corrupt-header", message: `ploop header is corrupt: ${why}` });
const extension = {
  code: "ploop-format-extension",
  message: "ploop has a format extension (dirty bitmaps), which is not accepted",
};
const truncated = { code: "truncated", message: "ploop is truncated: the BAT lies past the end of the file" };

/** The header fields the detector reads. */
interface PloopSpec {
  magic: string;
  version: number;
  tracks: number;
  batEntries: number;
  sectors: bigint;
  inUse: number;
  dataOffset: number;
  extensionOffset: bigint;
}

/** A sound ploop header as qemu writes it: 1 MiB clusters (2048 sectors), a 16-entry BAT for 16 MiB, data from sector 2048. */
function spec(change: Partial<PloopSpec> = {}): PloopSpec {
  return {
    magic: "WithouFreSpacExt",
    version: 2,
    tracks: 2048,
    batEntries: 16,
    sectors: 16n * 2048n,
    inUse: 0,
    dataOffset: 2048,
    extensionOffset: 0n,
    ...change,
  };
}

function header(s: PloopSpec): Uint8Array {
  const head = Buffer.alloc(64);
  head.write(s.magic, 0, "latin1");
  head.writeUInt32LE(s.version, 16);
  head.writeUInt32LE(s.tracks, 28);
  head.writeUInt32LE(s.batEntries, 32);
  head.writeBigUInt64LE(s.sectors, 36);
  head.writeUInt32LE(s.inUse, 44);
  head.writeUInt32LE(s.dataOffset, 48);
  head.writeBigUInt64LE(s.extensionOffset, 56);
  return new Uint8Array(head);
}

/** The detection, and what onHeader heard, for a header in a file of `size` bytes. */
async function detect(s: PloopSpec, size = 1024 * 1024): Promise<{ found: Detection | null; heard: HeaderFacts[] }> {
  const heard: HeaderFacts[] = [];
  const found = await ploopDetector.detect(memoryReader(size, [{ offset: 0, bytes: header(s) }]), {
    onHeader: (h) => heard.push(h),
  });
  return { found, heard };
}

const problemsOf = async (change: Partial<PloopSpec>, size?: number) =>
  (await detect(spec(change), size)).found?.problems;

describe("ploop", () => {
  test("a sound image under either magic: variant, size and details, told to onHeader too", async () => {
    const details = { clusterSize: 1024 * 1024, batEntries: 16, dirty: false };
    const ext = await detect(spec());
    assert.deepEqual(ext.found, {
      format: "ploop",
      variant: "ext",
      virtualSize: 16 * 1024 * 1024,
      problems: [],
      details,
    });
    assert.deepEqual(ext.heard, [{ format: "ploop", virtualSize: 16 * 1024 * 1024, details }]);
    const v1 = await detect(spec({ magic: "WithoutFreeSpace" }));
    assert.deepEqual([v1.found?.variant, v1.found?.virtualSize, v1.found?.problems], ["v1", 16 * 1024 * 1024, []]);
  });

  test("the old magic keeps only the low 32 bits of the sector count, the new one all 64", async () => {
    const sectors = 2n ** 32n + 16n * 2048n;
    const v1 = await detect(spec({ magic: "WithoutFreeSpace", sectors }));
    assert.deepEqual([v1.found?.virtualSize, v1.found?.problems], [16 * 1024 * 1024, []]);
    assert.deepEqual((await detect(spec({ sectors }))).found?.problems, [corrupt("the BAT does not cover the disk")]);
  });

  test("the in-use mark makes it dirty", async () => {
    assert.equal((await detect(spec({ inUse: 0x746f6e59 }))).found?.details?.dirty, true);
    assert.equal((await detect(spec({ inUse: 0x746f6e58 }))).found?.details?.dirty, false);
  });

  test("anything but either whole magic is not ploop; a header cut short of 64 bytes is truncated", async () => {
    for (const magic of ["WithoutFreeSpacf", "WithouFreSpacExu", "withoutFreeSpace", "WithoutFreeSpacExt"]) {
      assert.equal((await detect(spec({ magic }))).found, null, magic);
    }
    const short = await ploopDetector.detect(memoryReader(63, [{ offset: 0, bytes: header(spec()) }]), {});
    assert.deepEqual(short, {
      format: "ploop",
      problems: [{ code: "truncated", message: "ploop header is truncated" }],
    });
  });

  test("the version must be 2", async () => {
    for (const version of [0, 1, 3])
      assert.deepEqual(await problemsOf({ version }), [corrupt(`version ${version} is not 2`)]);
  });

  test("the cluster: 1 to 4186046 sectors (INT32_MAX / 513)", async () => {
    const most = Math.floor(INT32_MAX / 513);
    assert.deepEqual(await problemsOf({ tracks: 0 }), [corrupt("cluster of 0 sectors is invalid")]);
    assert.deepEqual(await problemsOf({ tracks: most + 1, batEntries: 1, sectors: BigInt(most + 1) }), [
      corrupt(`cluster of ${most + 1} sectors is invalid`),
    ]);
    assert.deepEqual(await problemsOf({ tracks: most, batEntries: 1, sectors: BigInt(most), dataOffset: 1 }), []);
    assert.deepEqual(await problemsOf({ tracks: 1, batEntries: 16, sectors: 16n, dataOffset: 1 }), []);
  });

  test("the BAT covers the disk, and not one cluster more", async () => {
    assert.deepEqual(await problemsOf({ sectors: 16n * 2048n + 1n }), [corrupt("the BAT does not cover the disk")]);
    assert.deepEqual(await problemsOf({ sectors: 15n * 2048n + 1n }), []);
    assert.deepEqual(await problemsOf({ sectors: 15n * 2048n }), [corrupt("the BAT is larger than the disk")]);
    assert.deepEqual(await problemsOf({ batEntries: 0, sectors: 0n }), []);
    assert.deepEqual(await problemsOf({ batEntries: 0, sectors: 1n }), [corrupt("the BAT does not cover the disk")]);
  });

  test("the BAT: at most INT32_MAX / 4 entries, and within the file", async () => {
    const most = Math.floor(INT32_MAX / 4);
    const end = 64 + most * 4;
    const at = (batEntries: number) => ({ tracks: 1, batEntries, sectors: BigInt(batEntries), dataOffset: 0 });
    assert.deepEqual(await problemsOf(at(most), end), []);
    assert.deepEqual(await problemsOf(at(most), end - 1), [truncated]);
    assert.deepEqual(await problemsOf(at(most + 1), 2 ** 40), [corrupt("the BAT is too large")]);
  });

  test("data may start right after the BAT, not inside it; 0 means no data offset", async () => {
    const bat = { tracks: 1, batEntries: 128 * 3, sectors: 128n * 3n };
    const batEnd = 64 + 128 * 3 * 4;
    assert.deepEqual(await problemsOf({ ...bat, dataOffset: Math.ceil(batEnd / 512) }), []);
    assert.deepEqual(await problemsOf({ ...bat, dataOffset: Math.floor(batEnd / 512) }), [
      corrupt("data overlaps the BAT"),
    ]);
    assert.deepEqual(await problemsOf({ ...bat, batEntries: 112, sectors: 112n, dataOffset: 1 }), []);
    assert.deepEqual(await problemsOf({ ...bat, batEntries: 113, sectors: 113n, dataOffset: 1 }), [
      corrupt("data overlaps the BAT"),
    ]);
    assert.deepEqual(await problemsOf({ ...bat, dataOffset: 0 }), []);
  });

  test("a format extension is refused", async () => {
    assert.deepEqual(await problemsOf({ extensionOffset: 1n }), [extension]);
    assert.deepEqual(await problemsOf({ extensionOffset: 2n ** 64n - 1n, version: 3 }), [
      corrupt("version 3 is not 2"),
      extension,
    ]);
  });

  test("an absurd size has no virtual size and is not told to onHeader", async () => {
    const sectors = BigInt(Math.floor(Number.MAX_SAFE_INTEGER / 512)) + 1n;
    const tracks = 4186046;
    const batEntries = Number((sectors + BigInt(tracks) - 1n) / BigInt(tracks));
    const { found, heard } = await detect(spec({ tracks, batEntries, sectors, dataOffset: 0 }), 2 ** 40);
    assert.deepEqual(
      [found?.virtualSize, found?.problems, heard],
      [undefined, [corrupt("the disk size is absurd")], []],
    );
    const fits = await detect(spec({ tracks, batEntries, sectors: sectors - 1n, dataOffset: 0 }), 2 ** 40);
    assert.deepEqual(
      [fits.found?.virtualSize, fits.found?.problems, fits.heard.length],
      [Number(sectors - 1n) * 512, [], 1],
    );
  });

  test("a corrupt header is still told to onHeader and never asks for the file's size", async () => {
    const heard: HeaderFacts[] = [];
    const reader = {
      ...memoryReader(64, [{ offset: 0, bytes: header(spec({ version: 9 })) }]),
      size: () => Promise.reject(new Error("size asked for")),
    };
    const found = await ploopDetector.detect(reader, { onHeader: (h) => heard.push(h) });
    assert.deepEqual([found?.problems, heard.length], [[corrupt("version 9 is not 2")], 1]);
    assert.equal((await ploopDetector.detect(reader, {}))?.virtualSize, 16 * 1024 * 1024);
  });
});
