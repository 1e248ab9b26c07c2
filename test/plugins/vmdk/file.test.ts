import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { memoryReader } from "../../core/inspect/readers.ts";
import { codes, descriptor, detect, latin1 } from "./vmdk-image.ts";

/** Detects a text descriptor file of exactly these bytes. */
function file(text: string | Uint8Array) {
  const bytes = typeof text === "string" ? latin1(text) : text;
  return detect(memoryReader(bytes.length, [{ offset: 0, bytes }]));
}

/** A descriptor file of `length` bytes: `text`, then comment lines up to that length. */
function padded(text: string, length: number): string {
  let out = text;
  while (out.length < length) {
    const line = Math.min(1000, length - out.length);
    out += line === 1 ? "\n" : `#${"x".repeat(line - 2)}\n`;
  }
  return out;
}

describe("VMDK descriptor files", () => {
  test("a descriptor file naming a FLAT extent is refused with the file it names", async () => {
    const found = await file(descriptor("monolithicFlat", 'RW 2048 FLAT "/etc/passwd" 0'));
    assert.deepEqual(found, {
      format: "vmdk",
      variant: "monolithicFlat",
      virtualSize: 2048 * 512,
      problems: found.problems,
      details: { descriptorFile: true, createType: "monolithicFlat", extents: 1 },
    });
    assert.deepEqual(codes(found), ["vmdk-create-type", "vmdk-extent-file"]);
    assert.match(found.problems[1]?.message ?? "", /: FLAT "\/etc\/passwd"$/);
  });

  test("even a monolithicSparse descriptor file is refused: its extent is another file", async () => {
    const found = await file(descriptor());
    assert.deepEqual(codes(found), ["vmdk-extent-file"]);
    assert.equal(found.variant, "monolithicSparse");
  });

  test("the message names the first three extents only", async () => {
    const extents = ['RW 1 FLAT "a"', 'RW 2 SPARSE "b"', "RW 4 VMFS", 'RW 8 FLAT "d"'].join("\n");
    const found = await file(descriptor("monolithicFlat", extents));
    assert.equal(found.virtualSize, 15 * 512);
    assert.equal(found.details?.extents, 4);
    assert.match(found.problems[1]?.message ?? "", /: FLAT "a", SPARSE "b", VMFS ""$/);
  });

  test("ZERO extents name no file", async () => {
    const found = await file(descriptor("monolithicFlat", "RW 2048 ZERO"));
    assert.deepEqual(codes(found), ["vmdk-create-type"]);
  });

  test("a parent hint and unexpected lines are refused", async () => {
    const found = await file(`${descriptor("monolithicFlat", "RW 2048 ZERO")}parentFileNameHint="base.vmdk"\nhello\n`);
    assert.deepEqual(codes(found), ["vmdk-parent", "vmdk-descriptor-line", "vmdk-create-type"]);
  });

  test("qemu's probe sees a descriptor without the comment line", async () => {
    const found = await file(descriptor().replace("# Disk DescriptorFile\n", ""));
    assert.deepEqual(codes(found), ["vmdk-extent-file"]);
    assert.equal(found.details?.descriptorFile, true);
  });

  test("the variant is the create type, printable and at most 40 characters", async () => {
    assert.equal((await file(descriptor("a\u0001b"))).variant, "a?b");
    assert.equal((await file(descriptor("t".repeat(41)))).variant, `${"t".repeat(40)}…`);
    assert.equal((await file(descriptor("t".repeat(40)))).variant, "t".repeat(40));
    const untyped = await file(descriptor().replace(/createType=.*\n/, ""));
    assert.equal(untyped.variant, "descriptor");
    assert.equal(untyped.details?.createType, undefined);
  });

  test("the virtual size is the sum of the extents while it is a safe integer", async () => {
    const last = 2 ** 44 - 1;
    assert.equal((await file(descriptor("monolithicFlat", `RW ${last} ZERO`))).virtualSize, last * 512);
    assert.equal((await file(descriptor("monolithicFlat", `RW ${last + 1} ZERO`))).virtualSize, undefined);
    assert.equal((await file(descriptor("monolithicFlat", `RW ${last} ZERO\nRW 1 ZERO`))).virtualSize, undefined);
  });

  test("a descriptor file of 64 KiB is read whole; one byte more is refused", async () => {
    const text = descriptor("monolithicFlat", "RW 2048 ZERO");
    assert.deepEqual(codes(await file(padded(text, 64 * 1024))), ["vmdk-create-type"]);
    assert.deepEqual(codes(await file(padded(text, 64 * 1024 + 1))), ["vmdk-descriptor-bounds", "vmdk-create-type"]);
  });

  test("only the first 64 KiB are parsed", async () => {
    const text = padded(descriptor("monolithicFlat", "RW 2048 ZERO"), 64 * 1024);
    // A line starting at byte 65536 is past the bound: only the size is refused, not the line.
    const found = await file(`${text}RW 2048 FLAT "/etc/passwd" 0\n`);
    assert.deepEqual(codes(found), ["vmdk-descriptor-bounds", "vmdk-create-type"]);
    assert.equal(found.details?.extents, 1);
  });

  test("a NUL ends the descriptor, however long the file", async () => {
    const text = descriptor("monolithicFlat", "RW 2048 ZERO");
    const bytes = new Uint8Array(200 * 1024).fill(0x41);
    bytes.set(latin1(text), 0);
    bytes[text.length] = 0;
    const found = await file(bytes);
    assert.deepEqual(codes(found), ["vmdk-create-type"]);
    assert.equal(found.virtualSize, 2048 * 512);
  });
});
