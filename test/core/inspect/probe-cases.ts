/**
 * Hand-made images for the format probes qemu-img 7.2 runs when it is given no `-f`: for each
 * probe that can claim content, bytes it claims; for the VMDK descriptor probe, the whitespace
 * and line-ending variants it accepts and the near misses it refuses, with its 512-byte probe
 * window pinned on both sides. Each case says what the inspector and qemu's probe make of it.
 * dmg has no case: its probe matches a ".dmg" file name, never content.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { qemuImg } from "../../helpers/images.ts";
import type { CorpusImage } from "./corpus.ts";

/** The signature qemu's cloop probe compares, all 83 bytes of it. */
export const CLOOP_MAGIC = "#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n";

/**
 * A monolithicFlat VMDK descriptor whose one extent names `target`, with `eol` line ends.
 *
 * @example
 * ```ts
 * writeFileSync("x.vmdk", `   \n${flatDescriptor("/tmp/t/target.raw")}`);
 * ```
 */
export function flatDescriptor(target: string, eol = "\n", version = 1): string {
  return [
    `version=${version}`,
    "CID=fffffffe",
    "parentCID=ffffffff",
    'createType="monolithicFlat"',
    `RW 8 FLAT "${target}" 0`,
    "",
  ].join(eol);
}

/**
 * A Bochs growing redolog of 32 KiB with an empty catalog, in header version 1 or 2 (the two
 * qemu reads; version 1 lacks the reserved word before the disk size).
 *
 * @example
 * ```ts
 * writeFileSync("disk.bochs", bochsImage(2));
 * ```
 */
export function bochsImage(version: 1 | 2): Buffer {
  const header = Buffer.alloc(512);
  header.write("Bochs Virtual HD Image", 0, "latin1");
  header.write("Redolog", 32, "latin1");
  header.write("Growing", 48, "latin1");
  header.writeUInt32LE(version << 16, 64);
  header.writeUInt32LE(512, 68);
  header.writeUInt32LE(8, 72);
  header.writeUInt32LE(512, 76);
  header.writeUInt32LE(4096, 80);
  header.writeBigUInt64LE(32768n, version === 2 ? 88 : 84);
  return Buffer.concat([header, Buffer.alloc(32, 0xff)]);
}

/**
 * A cloop V2.0 image with no blocks: the signature, block size 512 and one offset.
 *
 * @example
 * ```ts
 * writeFileSync("disk.cloop", cloopImage());
 * ```
 */
export function cloopImage(): Buffer {
  const image = Buffer.alloc(144);
  image.write(CLOOP_MAGIC, 0, "latin1");
  image.writeUInt32BE(512, 128);
  image.writeUInt32BE(0, 132);
  image.writeBigUInt64BE(144n, 136);
  return image;
}

function le32(value: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value);
  return b.toString("latin1");
}

/**
 * Writes the probe cases into `dir` (with a fresh 4 KiB file their descriptors name) and
 * returns them as corpus images; `probe` is what qemu's probe makes of each ("error": it picks
 * a format whose driver then refuses the image).
 *
 * @example
 * ```ts
 * const cases = buildProbeCases(dir);
 * cases.filter((c) => c.probe === "vmdk" && c.format === "vmdk");
 * ```
 */
export function buildProbeCases(dir: string): CorpusImage[] {
  const target = join(dir, "probe-target.raw");
  writeFileSync(target, Buffer.alloc(4096));
  const images: CorpusImage[] = [];
  const add = (name: string, bytes: string | Buffer, format: string, codes: string[], probe: string) => {
    const path = join(dir, name);
    writeFileSync(path, typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes);
    images.push({ name, path, format, codes: [...codes].sort(), probe, ...(codes.length === 0 && { driver: "raw" }) });
  };
  const flat = ["vmdk-create-type", "vmdk-extent-file"];
  const desc = flatDescriptor(target);
  const crlf = flatDescriptor(target, "\r\n");
  const comment = (length: number) => `#${"x".repeat(length - 2)}\n`;

  // vmdk_probe skips comment lines and lines of spaces (each may end in \r) before version=1..3.
  add("probe-spaces.vmdk", `   \n${desc}`, "vmdk", flat, "vmdk");
  add("probe-spaces-crlf.vmdk", `  \r\n${crlf}`, "vmdk", flat, "vmdk");
  add("probe-mixed-lines.vmdk", ` \n  \r\n# note\n   \n${desc}`, "vmdk", flat, "vmdk");
  add("probe-version3.vmdk", flatDescriptor(target, "\n", 3), "vmdk", flat, "vmdk");
  add("probe-window-end.vmdk", `${comment(502)}${desc}`, "vmdk", flat, "vmdk");
  add("probe-window-end-crlf.vmdk", `${comment(501)}${crlf}`, "vmdk", flat, "vmdk");
  // ...and refuses everything else, so qemu reads these as raw.
  add("probe-empty-line.raw", `\n${desc}`, "raw", [], "raw");
  add("probe-tab-line.raw", `\t\n${desc}`, "raw", [], "raw");
  add("probe-indented.raw", `  ${desc}`, "raw", [], "raw");
  add("probe-double-cr.raw", `  \r\r\n${desc}`, "raw", [], "raw");
  add("probe-version4.raw", flatDescriptor(target, "\n", 4), "raw", [], "raw");
  add("probe-past-window.raw", `${comment(503)}${desc}`, "raw", [], "raw");
  add("probe-past-window-crlf.raw", `${comment(502)}${crlf}`, "raw", [], "raw");
  add("probe-no-newline.raw", "version=1", "raw", [], "raw");
  add("probe-empty.raw", "", "raw", [], "raw");

  // Formats diskpipe does not convert, which qemu's probe recognizes.
  add("probe.bochs", bochsImage(2), "bochs", ["unsupported-format"], "bochs");
  add("probe-v1.bochs", bochsImage(1), "bochs", ["unsupported-format"], "bochs");
  add("probe.cloop", cloopImage(), "cloop", ["unsupported-format"], "cloop");
  qemuImg("create", "-q", "-f", "qcow", join(dir, "probe.qcow"), "1M");
  images.push({
    name: "probe.qcow",
    path: join(dir, "probe.qcow"),
    format: "qcow",
    codes: ["unsupported-format"],
    probe: "qcow",
  });

  // Each probe needs only its magic (vdi's at 0x40): qemu picks the format, then cannot open the image.
  add("probe-cookie.vhd", "conectix", "vhd", ["truncated"], "error");
  add("probe-short.vhd", `conectix${"\0".repeat(100)}`, "vhd", ["truncated"], "error");
  add("probe-short.qcow2", "QFI\xfb\0\0\0\x03", "qcow2", ["truncated"], "error");
  add("probe-short.qcow", "QFI\xfb\0\0\0\x01", "qcow", ["unsupported-format"], "error");
  add("probe-short.vdi", `${"\0".repeat(0x40)}${le32(0xbeda107f)}`, "vdi", ["truncated"], "error");
  add("probe-short.ploop", `WithoutFreeSpace${le32(2)}`, "ploop", ["truncated"], "error");
  add("probe-short-ext.ploop", `WithouFreSpacExt${le32(2)}`, "ploop", ["truncated"], "error");
  add("probe-short.luks", "LUKS\xba\xbe\0\x01", "luks", ["truncated"], "error");
  add("probe-short.qed", "QED\0", "qed", ["qed-banned"], "error");
  add("probe-short.vhdx", "vhdxfile", "vhdx", ["vhdx-corrupt-header"], "error");
  add("probe-short-kdmv.vmdk", "KDMV", "vmdk", ["truncated"], "error");
  add("probe-short-cowd.vmdk", "COWD", "vmdk", ["vmdk-create-type"], "error");

  // Magic qemu's probe passes over: the inspector refuses these all the same.
  add("probe-version0.qcow2", `QFI\xfb${"\0".repeat(600)}`, "qcow2", ["qcow2-version"], "raw");
  add("probe-version2.luks", `LUKS\xba\xbe\0\x02${"\0".repeat(600)}`, "luks", ["luks-version"], "raw");
  return images;
}
