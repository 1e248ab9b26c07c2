import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { GrowingFile } from "../../../src/plugin-api.ts";
import { ContentWriter } from "../../../src/plugins/compressed/writer.ts";
import { tempDir } from "../../helpers/images.ts";

const MiB = 1024 * 1024;

describe("ContentWriter", () => {
  const { dir, cleanup } = tempDir("diskpipe-compressed-writer-");
  after(cleanup);

  it("leaves zero blocks and holes unwritten, shows the head once, before writing it", async () => {
    const file = await GrowingFile.create(join(dir, "image"), { sparse: true });
    const heads: number[] = [];
    const writer = new ContentWriter(file, async (head) => {
      assert.equal(file.written, 0, "the head is shown before anything is written");
      heads.push(head.length);
    });
    const data = Buffer.alloc(MiB, 0x42);
    await writer.write(Buffer.alloc(100));
    await writer.write(data);
    await writer.write(Buffer.alloc(16 * MiB));
    await writer.hole(64 * MiB);
    await writer.write(data);
    await writer.end();
    await file.close();
    assert.deepEqual(heads, [4096]);
    const path = join(dir, "image");
    const { size, blocks } = statSync(path);
    assert.equal(size, 100 + MiB + 16 * MiB + 64 * MiB + MiB);
    assert.ok(blocks * 512 < 3 * MiB, `${blocks * 512} bytes allocated`);
    const bytes = readFileSync(path);
    assert.ok(bytes.subarray(100, 100 + MiB).equals(data));
    assert.ok(bytes.subarray(size - MiB).equals(data));
  });

  it("a hole within the first 4 KiB is shown as zeroes, and a short image's head when it ends", async () => {
    const file = await GrowingFile.create(join(dir, "holes"), { sparse: true });
    const heads: Uint8Array[] = [];
    const writer = new ContentWriter(file, async (head) => void heads.push(Uint8Array.from(head)));
    await writer.write(Buffer.from("abc"));
    await writer.hole(10 * MiB);
    await writer.end();
    await file.close();
    assert.equal(heads.length, 1);
    assert.equal(heads[0].length, 4096);
    assert.equal(Buffer.from(heads[0].subarray(0, 3)).toString(), "abc");
    assert.equal(statSync(join(dir, "holes")).size, 3 + 10 * MiB);
    const short = await GrowingFile.create(join(dir, "short"), { sparse: true });
    const shown: number[] = [];
    const tiny = new ContentWriter(short, async (head) => void shown.push(head.length));
    await tiny.write(Buffer.from("xyz"));
    await tiny.end();
    await short.close();
    assert.deepEqual(shown, [3]);
  });

  it("counts every byte taken (batched, in flight, written or a hole) and writes the first MiB while the next is gathered", async () => {
    const file = await GrowingFile.create(join(dir, "counted"), { sparse: true });
    const writer = new ContentWriter(file, async () => undefined);
    let total = 0;
    const step = async (taken: Promise<void>, length: number) => {
      await taken;
      total += length;
      assert.equal(writer.bytes, total);
    };
    // Small pieces are gathered, not written one by one (a hole inside the head is shown as bytes).
    await step(writer.write(Buffer.from("abc")), 3);
    await step(writer.hole(10), 10);
    assert.equal(file.written, 0);
    await step(writer.write(Buffer.alloc(MiB - 13, 0x11)), MiB - 13);
    // One batch of 1 MiB is in flight: the next one waits for it, so an inspector can read the head meanwhile.
    await step(writer.write(Buffer.alloc(MiB, 0x22)), MiB);
    assert.equal(file.written, MiB);
    await step(writer.write(Buffer.alloc(100, 0x33)), 100);
    await step(writer.hole(5 * MiB), 5 * MiB);
    await step(writer.end(), 0);
    assert.equal(file.written, total);
    await file.close();
    const bytes = readFileSync(join(dir, "counted"));
    assert.equal(bytes.length, total);
    assert.equal(bytes.subarray(0, 13).toString("latin1"), "abc" + "\0".repeat(10));
    assert.equal(bytes[2 * MiB], 0x33);
  });

  it("a hole of 64 GiB right after a short head is skipped, never allocated", async () => {
    const file = await GrowingFile.create(join(dir, "huge-hole"), { sparse: true });
    const writer = new ContentWriter(file, async () => undefined);
    await writer.write(Buffer.from("head"));
    await writer.hole(64 * 1024 * MiB);
    await writer.end();
    await file.close();
    const { size, blocks } = statSync(join(dir, "huge-hole"));
    assert.equal(size, 4 + 64 * 1024 * MiB);
    assert.ok(blocks * 512 <= 64 * 1024, `${blocks * 512} bytes allocated`);
  });

  it("a hole reaching past the head is skipped in the file at once, what came before it written first", async () => {
    const file = await GrowingFile.create(join(dir, "past-head"), { sparse: true });
    const writer = new ContentWriter(file, async () => undefined);
    await writer.write(Buffer.from("abc"));
    await writer.hole(4095);
    // 4093 zeroes complete the head; the last 2 bytes of the hole are skipped, after the head is written.
    assert.equal(file.written, 4098);
    await writer.hole(0);
    // Past the head, data batched beyond 4 KiB and then a hole (a sparse tar member's layout).
    await writer.write(Buffer.alloc(8192, 0x7a));
    await writer.hole(10);
    await writer.write(Buffer.from("z"));
    assert.equal(writer.bytes, 4098 + 8192 + 10 + 1);
    await writer.end();
    await file.close();
    const bytes = readFileSync(join(dir, "past-head"));
    assert.equal(bytes.length, 4098 + 8192 + 10 + 1);
    assert.equal(bytes.subarray(0, 3).toString(), "abc");
    assert.equal(
      bytes.subarray(3, 4098).every((byte) => byte === 0),
      true,
    );
    assert.equal(
      bytes.subarray(4098, 4098 + 8192).every((byte) => byte === 0x7a),
      true,
    );
    assert.equal(bytes.subarray(-11).toString("latin1"), "\0".repeat(10) + "z");
  });
});
