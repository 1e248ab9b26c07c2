import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  readVhdDynamicHeader,
  readVhdFooter,
  vhdChecksum,
  VHD_DYNAMIC_HEADER_SIZE,
  VHD_FOOTER_SIZE,
} from "../../../src/plugin-api.ts";
import { qemuImg, tempDir } from "../../helpers/images.ts";

describe("VHD fields (the plugin kit's footer and dynamic header readers)", () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);

  it("reads what qemu-img writes in a dynamic VHD's footer copy and dynamic header", () => {
    const path = join(dir, "disk.vhd");
    qemuImg("create", "-q", "-f", "vpc", "-o", "force_size=on", path, String(8 * 1024 * 1024));
    const bytes = readFileSync(path);
    const head = bytes.subarray(0, VHD_FOOTER_SIZE);
    const footer = readVhdFooter(head);
    assert.equal(footer.cookie, true);
    assert.equal(footer.type, 3);
    assert.equal(footer.currentSize, 8n * 1024n * 1024n);
    assert.equal(footer.creator, "qem2");
    assert.equal(footer.checksum, vhdChecksum(head, 64));
    assert.match(footer.uniqueId, /^[0-9a-f]{32}$/);
    assert.deepEqual(
      readVhdFooter(bytes.subarray(bytes.length - VHD_FOOTER_SIZE)),
      footer,
      "the copy at the end is the same",
    );
    const header = readVhdDynamicHeader(
      bytes.subarray(Number(footer.dataOffset), Number(footer.dataOffset) + VHD_DYNAMIC_HEADER_SIZE),
    );
    assert.equal(header.cookie, true);
    assert.equal(header.version, 0x0001_0000);
    assert.equal(header.blockSize, 2 * 1024 * 1024);
    assert.equal(header.maxTableEntries, 4);
    assert.equal(
      header.checksum,
      vhdChecksum(bytes.subarray(Number(footer.dataOffset), Number(footer.dataOffset) + VHD_DYNAMIC_HEADER_SIZE), 36),
    );
    assert.equal(header.parentId, "0".repeat(32));
    assert.equal(header.parentName, "");
  });

  it("reads a parent name up to its first NUL code unit, as UTF-16 big-endian", () => {
    const header = Buffer.alloc(VHD_DYNAMIC_HEADER_SIZE);
    header.write("cxsparse", 0, "latin1");
    const name = Buffer.from("p\u00e4rent.vhd\u0000ignored", "utf16le").swap16();
    name.copy(header, 64);
    header.fill(0xab, 40, 56);
    const fields = readVhdDynamicHeader(header);
    assert.equal(fields.parentName, "p\u00e4rent.vhd");
    assert.equal(fields.parentId, "ab".repeat(16));
    const full = Buffer.alloc(VHD_DYNAMIC_HEADER_SIZE);
    Buffer.from("x".repeat(300), "utf16le").swap16().copy(full, 64);
    assert.equal(readVhdDynamicHeader(full).parentName, "x".repeat(256), "no more than the 512-byte field");
  });

  it("reads missing bytes of a short buffer as zero, and no cookie", () => {
    const footer = readVhdFooter(Buffer.from("conect", "latin1"));
    assert.deepEqual([footer.cookie, footer.type, footer.currentSize, footer.creator], [false, 0, 0n, "\0\0\0\0"]);
    assert.equal(readVhdDynamicHeader(new Uint8Array(0)).cookie, false);
  });

  it("checksums a structure as the one's complement of its byte sum, skipping the checksum field", () => {
    assert.equal(vhdChecksum(new Uint8Array(512), 64), 0xffffffff);
    const bytes = new Uint8Array(512);
    bytes[0] = 1;
    bytes[511] = 2;
    bytes.fill(0xff, 64, 68);
    assert.equal(vhdChecksum(bytes, 64), ~3 >>> 0);
    assert.equal(
      vhdChecksum(bytes, 0),
      ~(2 + 4 * 0xff) >>> 0,
      "the four bytes at the field's offset are skipped wherever it is",
    );
  });
});
