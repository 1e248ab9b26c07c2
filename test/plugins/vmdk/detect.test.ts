import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { HeaderFacts } from "../../../src/core/inspect/types.ts";
import { vmdkDetector } from "../../../src/plugins/vmdk/detect.ts";
import { memoryReader } from "../../core/inspect/readers.ts";
import { codes, descriptor, detect, latin1, sparseHeader, sparseImage, type SparseFields } from "./vmdk-image.ts";

/** Detects a sparse image with these header fields (and a descriptor matching its capacity). */
async function headerCodes(fields: Partial<SparseFields>): Promise<string[]> {
  return codes(await detect(sparseImage({ header: fields, size: 1 << 30 })));
}

describe("VMDK detection", () => {
  test("a good monolithicSparse image passes with its facts", async () => {
    const found = await detect(sparseImage());
    assert.deepEqual(found, {
      format: "vmdk",
      variant: "monolithicSparse",
      virtualSize: 8192 * 512,
      problems: [],
      details: { version: 1, createType: "monolithicSparse", clusterSize: 128 * 512, compressed: false, footer: false },
    });
  });

  test("the header's facts go to onHeader before the later checks", async () => {
    const seen: HeaderFacts[] = [];
    await detect(sparseImage({ header: { granularity: 16n, capacity: 4096n } }), { onHeader: (h) => seen.push(h) });
    assert.deepEqual(seen, [{ format: "vmdk", virtualSize: 4096 * 512, details: { clusterSize: 16 * 512 } }]);
  });

  test("compression 1 is reported as compressed, any other value is not", async () => {
    assert.equal((await detect(sparseImage({ header: { compression: 1 } }))).details?.compressed, true);
    assert.equal((await detect(sparseImage({ header: { compression: 2 } }))).details?.compressed, false);
  });

  test("other files are not VMDK", async () => {
    for (const head of ["", "xKDMV", "KDM", "COW", "# Disk Descriptor", "\nversion=1\n", "QFI\xfb"]) {
      assert.equal(
        await vmdkDetector.detect(memoryReader(4096, [{ offset: 0, bytes: latin1(head) }]), {}),
        null,
        JSON.stringify(head),
      );
    }
  });

  test("a COWD (VMDK3) image is refused: it names a parent", async () => {
    const found = await detect(memoryReader(2048, [{ offset: 0, bytes: latin1("COWD") }]));
    assert.deepEqual(
      { ...found, problems: codes(found) },
      { format: "vmdk", variant: "vmfsSparse", problems: ["vmdk-create-type"] },
    );
  });

  test("a header cut before its compression field is truncated; 79 bytes are read", async () => {
    const header = sparseHeader();
    const cut = await detect(memoryReader(78, [{ offset: 0, bytes: header.subarray(0, 78) }]));
    assert.deepEqual(cut, { format: "vmdk", problems: [cut.problems[0]] });
    assert.deepEqual(codes(cut), ["truncated"]);
    // 79 bytes: the header parses; the descriptor is missing, which is what gets reported.
    const whole = await detect(memoryReader(79, [{ offset: 0, bytes: header.subarray(0, 79) }]));
    assert.deepEqual(codes(whole), ["vmdk-descriptor-line", "vmdk-create-type", "vmdk-extent-file"]);
  });
});

describe("VMDK header bounds (qemu's vmdk_add_extent limits)", () => {
  test("version 1..3", async () => {
    assert.deepEqual(await headerCodes({ version: 0 }), ["vmdk-corrupt-header"]);
    assert.deepEqual(await headerCodes({ version: 1 }), []);
    assert.deepEqual(await headerCodes({ version: 3 }), []);
    assert.deepEqual(await headerCodes({ version: 4 }), ["vmdk-corrupt-header"]);
  });

  test("1..512 grain table entries", async () => {
    assert.deepEqual(await headerCodes({ gtes: 0 }), ["vmdk-corrupt-header"]);
    assert.deepEqual(await headerCodes({ gtes: 1 }), []);
    assert.deepEqual(await headerCodes({ gtes: 512 }), []);
    assert.deepEqual(await headerCodes({ gtes: 513 }), ["vmdk-corrupt-header"]);
  });

  test("a grain of 1..0x200000 sectors", async () => {
    assert.deepEqual(await headerCodes({ granularity: 0n }), ["vmdk-corrupt-header"]);
    assert.deepEqual(await headerCodes({ granularity: 1n }), []);
    assert.deepEqual(await headerCodes({ granularity: 0x200000n }), []);
    assert.deepEqual(await headerCodes({ granularity: 0x200001n }), ["vmdk-corrupt-header"]);
  });

  test("no grain at all is one problem each, not a division by zero", async () => {
    assert.deepEqual(await headerCodes({ gtes: 0, granularity: 0n }), ["vmdk-corrupt-header", "vmdk-corrupt-header"]);
  });

  test("capacity 0 is refused: qemu would follow the descriptor's extents instead", async () => {
    assert.deepEqual(await headerCodes({ capacity: 0n }), ["vmdk-corrupt-header"]);
    assert.deepEqual(await headerCodes({ capacity: 1n }), []);
  });

  test("the grain directory holds at most 32 Mi entries, rounded up", async () => {
    // 512 entries of one sector each: 2^34 sectors need exactly 2^25 directory entries.
    const span = 512n;
    const size = Number.MAX_SAFE_INTEGER;
    const at = (capacity: bigint) => detect(sparseImage({ header: { capacity, gtes: 512, granularity: 1n }, size }));
    assert.deepEqual(codes(await at(span * 32n * 1024n * 1024n)), []);
    assert.deepEqual(codes(await at(span * 32n * 1024n * 1024n + 1n)), ["vmdk-corrupt-header"]);
  });

  test("an absurd capacity is one problem, with no virtual size and no header facts", async () => {
    const seen: HeaderFacts[] = [];
    const last = (2n ** 53n - 1n) / 512n;
    const ok = await detect(
      sparseImage({ header: { capacity: last, gtes: 512, granularity: 0x200000n }, size: 1 << 30 }),
      { onHeader: (h) => seen.push(h) },
    );
    assert.deepEqual(codes(ok), []);
    assert.equal(ok.virtualSize, Number(last * 512n));
    assert.equal(seen.length, 1);
    // One sector more overflows a safe integer; with one-sector grains the directory would be too large as well.
    const absurd = await detect(sparseImage({ header: { capacity: last + 1n, gtes: 1, granularity: 1n } }), {
      onHeader: (h) => seen.push(h),
    });
    assert.deepEqual(codes(absurd), ["vmdk-corrupt-header"]);
    assert.equal(absurd.virtualSize, undefined);
    assert.equal(seen.length, 1);
  });

  test("an absurd capacity is refused even when its grain directory would be small", async () => {
    // 2^30-sector directory entries: 2^44 sectors need only 2^14 of them.
    const found = await detect(
      sparseImage({ header: { capacity: 2n ** 44n, gtes: 512, granularity: 0x200000n }, size: 1 << 30 }),
    );
    assert.deepEqual(codes(found), ["vmdk-corrupt-header"]);
    assert.match(found.problems[0]?.message ?? "", /^VMDK header is corrupt/);
  });
});

describe("VMDK embedded descriptor bounds", () => {
  test("it must start at sector 1", async () => {
    assert.deepEqual(await headerCodes({ descOffset: 0n }), ["vmdk-descriptor-bounds"]);
    assert.deepEqual(await headerCodes({ descOffset: 2n }), ["vmdk-descriptor-bounds"]);
  });

  test("1..128 sectors (64 KiB)", async () => {
    const big = { grainOffset: 200n, gdOffset: 200n, rgdOffset: 199n };
    assert.deepEqual(await headerCodes({ descSize: 0n }), ["vmdk-descriptor-bounds"]);
    assert.deepEqual(await headerCodes({ descSize: 1n }), []);
    assert.deepEqual(await headerCodes({ ...big, descSize: 128n }), []);
    assert.deepEqual(await headerCodes({ ...big, descSize: 129n }), ["vmdk-descriptor-bounds"]);
  });

  test("the first grain may start right after it, not inside it", async () => {
    assert.deepEqual(await headerCodes({ grainOffset: 21n }), []);
    assert.deepEqual(await headerCodes({ grainOffset: 20n }), ["vmdk-descriptor-bounds"]);
  });

  test("the grain directory may not overlap it, unless deferred to a footer", async () => {
    assert.deepEqual(await headerCodes({ gdOffset: 21n }), []);
    assert.deepEqual(await headerCodes({ gdOffset: 20n }), ["vmdk-descriptor-bounds"]);
  });

  test("the redundant directory counts only when its flag is set", async () => {
    assert.deepEqual(await headerCodes({ flags: 3, rgdOffset: 21n }), []);
    assert.deepEqual(await headerCodes({ flags: 3, rgdOffset: 20n }), ["vmdk-descriptor-bounds"]);
    assert.deepEqual(await headerCodes({ flags: 2, rgdOffset: 0n }), ["vmdk-descriptor-bounds"]);
    assert.deepEqual(await headerCodes({ flags: 1, rgdOffset: 0n }), []);
    assert.deepEqual(await headerCodes({ flags: 0, rgdOffset: 0n }), []);
  });

  test("text filling all its sectors must end in a NUL: qemu would read on past them", async () => {
    const text = descriptor();
    const filler = (length: number) => `#${"x".repeat(length - 2)}\n`;
    const fill = (last: string) => latin1(text + filler(20 * 512 - text.length - 1) + last);
    assert.deepEqual(await headerCodes({}), []);
    assert.deepEqual(codes(await detect(sparseImage({ text: fill("\0") }))), []);
    assert.deepEqual(codes(await detect(sparseImage({ text: fill("\n") }))), ["vmdk-descriptor-bounds"]);
  });

  test("text cut short by the end of the file is parsed as it is", async () => {
    const text = descriptor();
    const found = await detect(
      sparseImage({ header: { grainOffset: 21n, gdOffset: 21n, flags: 0 }, size: 512 + text.length }),
    );
    assert.deepEqual(codes(found), ["truncated", "truncated"]);
    assert.equal(found.details?.createType, "monolithicSparse");
  });
});

describe("VMDK embedded descriptor contents", () => {
  /** Detects a sparse image whose embedded descriptor is `text`. */
  const embedded = async (text: string) => detect(sparseImage({ text }));

  test("a parent hint is refused", async () => {
    assert.deepEqual(codes(await embedded(`${descriptor()}parentFileNameHint="/etc/passwd"\n`)), ["vmdk-parent"]);
  });

  test("unexpected lines are refused and shown with their line numbers", async () => {
    const found = await embedded(`${descriptor()}changeTrackPath="/etc/shadow"\nhello\n`);
    assert.deepEqual(codes(found), ["vmdk-descriptor-line"]);
    assert.ok(
      found.problems[0]?.message.includes('line 14: "changeTrackPath="/etc/shadow""; line 15: "hello"'),
      found.problems[0]?.message,
    );
  });

  test("a descriptor without readable CIDs is refused", async () => {
    assert.deepEqual(codes(await embedded(descriptor().replace("CID=12345678", "CID=zz"))), ["vmdk-descriptor-line"]);
  });

  test("a createType qemu reads elsewhere than on the key line is refused", async () => {
    const found = await embedded(`# createType="monolithicFlat"\n${descriptor()}`);
    assert.deepEqual(codes(found), ["vmdk-descriptor-line"]);
    assert.equal(found.details?.createType, "monolithicSparse");
  });

  test("only monolithicSparse and streamOptimized are accepted", async () => {
    const stream = await embedded(descriptor("streamOptimized"));
    assert.deepEqual([codes(stream), stream.variant], [[], "streamOptimized"]);
    const flat = await embedded(descriptor("monolithicFlat"));
    assert.deepEqual(
      [codes(flat), flat.variant, flat.details?.createType],
      [["vmdk-create-type"], "monolithicSparse", "monolithicFlat"],
    );
    assert.match(flat.problems[0]?.message ?? "", /"monolithicFlat"/);
    const none = await embedded(descriptor().replace(/createType=.*\n/, ""));
    // qemu finds no createType either, so only the type itself is missing.
    assert.deepEqual([codes(none), none.variant], [["vmdk-create-type"], "monolithicSparse"]);
    assert.match(none.problems[0]?.message ?? "", /type "" is not/);
  });

  test("the one extent must be SPARSE: a FLAT or ZERO extent names another file or none", async () => {
    const flat = await embedded(descriptor("monolithicSparse", 'RW 8192 FLAT "/etc/passwd" 0'));
    assert.deepEqual(codes(flat), ["vmdk-extent-file"]);
    assert.match(flat.problems[0]?.message ?? "", /not FLAT "\/etc\/passwd"$/);
    const zero = await embedded(descriptor("monolithicSparse", "RW 8192 ZERO"));
    assert.deepEqual(codes(zero), ["vmdk-extent-file"]);
    assert.match(zero.problems[0]?.message ?? "", /not ZERO ""$/);
  });

  test("exactly one extent", async () => {
    const two = await embedded(descriptor("monolithicSparse", 'RW 4096 SPARSE "a.vmdk"\nRW 4096 SPARSE "b.vmdk"'));
    assert.deepEqual(codes(two), ["vmdk-extent-file"]);
    assert.match(two.problems[0]?.message ?? "", /not 2 extents$/);
    const none = await embedded(descriptor("monolithicSparse", ""));
    assert.deepEqual(codes(none), ["vmdk-extent-file"]);
    assert.match(none.problems[0]?.message ?? "", /not 0 extents$/);
  });

  test("the extent's size must be the header's capacity", async () => {
    assert.deepEqual(codes(await embedded(descriptor("monolithicSparse", 'RW 8191 SPARSE "disk.vmdk"'))), [
      "vmdk-corrupt-header",
    ]);
    assert.deepEqual(codes(await embedded(descriptor("monolithicSparse", 'RW 8193 SPARSE "disk.vmdk"'))), [
      "vmdk-corrupt-header",
    ]);
  });
});
