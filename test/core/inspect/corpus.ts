/**
 * A corpus of small disk images for inspector, pipeline and CLI tests: good images made by
 * qemu-img itself (or by hand where qemu reads the format as raw) and hostile ones patched by
 * hand. Everything is sparse and a few MiB at most; building takes a few seconds, most of it
 * qemu's LUKS key derivation, which runs in the background while the rest is built.
 */
import { appendFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { InspectOptions } from "../../../src/core/inspect/types.ts";
import { makeLuksAsync } from "../../helpers/images.ts";
import {
  addVmdkFooter,
  copy,
  editVmdkDescriptor,
  makeGpt,
  makeIso,
  makeMbr,
  makeSparse,
  makeUdf,
  mbrSector,
  patch,
  peek,
  qemuImg,
  u32be,
  u64be,
  u64le,
} from "./corpus-tools.ts";
import { addVhdFamily } from "./corpus-vhd.ts";
import { buildProbeCases } from "./probe-cases.ts";

const MiB = 1024 * 1024;

/** One image of the corpus and what the inspector must say about it. */
export interface CorpusImage {
  name: string;
  path: string;
  /** Expected format and variant (conventional names). */
  format: string;
  variant?: string;
  /** qemu driver to compare `virtual-size` with; set on good images only. */
  driver?: string;
  /** Exactly the problem codes expected (deduplicated, sorted); empty for a good image. */
  codes: string[];
  /** Options to inspect it with (e.g. a chain container). */
  options?: InspectOptions;
  /** Passphrase file for LUKS images. */
  secretFile?: string;
  /** What qemu's probe (no `-f`) makes of it: a driver name, or "error"; set on the probe cases. */
  probe?: string;
}

/** What a part of the corpus builder gets: paths in the corpus folder, the two ways to list an image, the 4 MiB data disk. */
export interface CorpusBuilder {
  at(name: string): string;
  good(name: string, format: string, variant: string | undefined, driver: string, options?: InspectOptions): void;
  bad(name: string, format: string, codes: string[], options?: InspectOptions): void;
  data: string;
}

/**
 * Builds the corpus in `dir` (which should be empty) and returns its images.
 *
 * @example
 * ```ts
 * const corpus = await buildCorpus(dir);
 * const hostile = corpus.filter((image) => image.codes.length > 0);
 * ```
 */
export async function buildCorpus(dir: string): Promise<CorpusImage[]> {
  const at = (name: string) => join(dir, name);
  const images: CorpusImage[] = [];
  const good = (name: string, format: string, variant: string | undefined, driver: string, options?: InspectOptions) =>
    images.push({
      name,
      path: at(name),
      format,
      ...(variant !== undefined && { variant }),
      driver,
      codes: [],
      ...(options && { options }),
    });
  const bad = (name: string, format: string, codes: string[], options?: InspectOptions) =>
    images.push({ name, path: at(name), format, codes: [...new Set(codes)].sort(), ...(options && { options }) });

  // LUKS key derivation takes a couple of seconds: start it first, collect it last.
  const secretFile = at("luks.pass");
  writeFileSync(secretFile, "diskpipe-test");
  const luks = makeLuksAsync(at("good.luks"), secretFile, "4M", 100);

  const data = makeSparse(at("data.raw"), 4 * MiB);
  good("data.raw", "raw", undefined, "raw");
  // qemu counts whole sectors: a raw file of 1000001 bytes is a 1000448-byte disk.
  makeSparse(at("odd-size.raw"), 1_000_001);
  good("odd-size.raw", "raw", undefined, "raw");

  // qcow2
  qemuImg("convert", "-f", "raw", "-O", "qcow2", data, at("v3.qcow2"));
  good("v3.qcow2", "qcow2", "v3", "qcow2");
  qemuImg("convert", "-f", "raw", "-O", "qcow2", "-o", "compat=0.10", data, at("v2.qcow2"));
  good("v2.qcow2", "qcow2", "v2", "qcow2");
  qemuImg(
    "create",
    "-q",
    "-f",
    "qcow2",
    "-o",
    "compression_type=zstd,extended_l2=on,cluster_size=2M",
    at("zstd-extl2.qcow2"),
    "5M",
  );
  good("zstd-extl2.qcow2", "qcow2", "v3", "qcow2");
  qemuImg("create", "-q", "-f", "qcow2", "-o", "cluster_size=512", at("small-cluster.qcow2"), "3M");
  good("small-cluster.qcow2", "qcow2", "v3", "qcow2");
  copy(at("v3.qcow2"), at("odd-size.qcow2"));
  patch(at("odd-size.qcow2"), 24, u64be(3n * BigInt(MiB) + 1000n));
  good("odd-size.qcow2", "qcow2", "v3", "qcow2");

  qemuImg("create", "-q", "-f", "qcow2", at("base.qcow2"), "4M");
  qemuImg("create", "-q", "-f", "qcow2", "-b", at("base.qcow2"), "-F", "qcow2", at("backing.qcow2"));
  bad("backing.qcow2", "qcow2", ["qcow2-backing-file"]);
  // data_file names a fresh path in the temp dir: qemu-img create truncates whatever it names.
  qemuImg("create", "-q", "-f", "qcow2", "-o", `data_file=${at("fresh-data-file.raw")}`, at("data-file.qcow2"), "4M");
  bad("data-file.qcow2", "qcow2", ["qcow2-data-file"]);
  copy(at("v3.qcow2"), at("unknown-bits.qcow2"));
  patch(at("unknown-bits.qcow2"), 72, u64be(1n << 7n));
  bad("unknown-bits.qcow2", "qcow2", ["qcow2-unknown-features"]);
  copy(at("v3.qcow2"), at("version4.qcow2"));
  patch(at("version4.qcow2"), 4, u32be(4));
  bad("version4.qcow2", "qcow2", ["qcow2-version"]);
  copy(at("v3.qcow2"), at("cluster-bits.qcow2"));
  patch(at("cluster-bits.qcow2"), 20, u32be(30));
  bad("cluster-bits.qcow2", "qcow2", ["qcow2-corrupt-header"]);
  copy(at("v3.qcow2"), at("truncated.qcow2"));
  truncateSync(at("truncated.qcow2"), 0x30000);
  bad("truncated.qcow2", "qcow2", ["truncated"]);

  // qed
  qemuImg("create", "-q", "-f", "qed", at("banned.qed"), "4M");
  bad("banned.qed", "qed", ["qed-banned"]);

  // vmdk
  qemuImg("convert", "-f", "raw", "-O", "vmdk", data, at("sparse.vmdk"));
  good("sparse.vmdk", "vmdk", "monolithicSparse", "vmdk");
  qemuImg("convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", data, at("stream.vmdk"));
  good("stream.vmdk", "vmdk", "streamOptimized", "vmdk");
  addVmdkFooter(copy(at("stream.vmdk"), at("stream-footer.vmdk")));
  good("stream-footer.vmdk", "vmdk", "streamOptimized", "vmdk");

  qemuImg("create", "-q", "-f", "vmdk", "-o", "subformat=monolithicFlat", at("flat.vmdk"), "1M");
  bad("flat.vmdk", "vmdk", ["vmdk-create-type", "vmdk-extent-file"]);
  qemuImg("create", "-q", "-f", "vmdk", "-o", "subformat=twoGbMaxExtentSparse", at("split.vmdk"), "1M");
  bad("split.vmdk", "vmdk", ["vmdk-create-type", "vmdk-extent-file"]);
  writeFileSync(
    at("passwd.vmdk"),
    '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\nRW 2048 FLAT "/etc/passwd" 0\n',
  );
  bad("passwd.vmdk", "vmdk", ["vmdk-create-type", "vmdk-extent-file"]);
  editVmdkDescriptor(copy(at("sparse.vmdk"), at("embedded-flat.vmdk")), (t) =>
    t.replace(/RW \d+ SPARSE "[^"]*"/, 'RW 8192 FLAT "/etc/passwd" 0'),
  );
  bad("embedded-flat.vmdk", "vmdk", ["vmdk-extent-file"]);
  editVmdkDescriptor(copy(at("sparse.vmdk"), at("parent.vmdk")), (t) =>
    t.replace("parentCID=ffffffff", 'parentCID=12345678\nparentFileNameHint="/etc/passwd"'),
  );
  bad("parent.vmdk", "vmdk", ["vmdk-parent"]);
  editVmdkDescriptor(copy(at("sparse.vmdk"), at("extra-line.vmdk")), (t) => `${t}changeTrackPath="/etc/shadow"\n`);
  bad("extra-line.vmdk", "vmdk", ["vmdk-descriptor-line"]);
  patch(copy(at("sparse.vmdk"), at("version9.vmdk")), 4, [9, 0, 0, 0]);
  bad("version9.vmdk", "vmdk", ["vmdk-corrupt-header"]);
  patch(copy(at("sparse.vmdk"), at("desc-offset.vmdk")), 28, u64le(2n));
  bad("desc-offset.vmdk", "vmdk", ["vmdk-descriptor-bounds"]);
  patch(copy(at("stream.vmdk"), at("no-footer.vmdk")), 56, u64le(0xffffffffffffffffn));
  bad("no-footer.vmdk", "vmdk", ["vmdk-footer"]);
  writeFileSync(at("legacy.vmdk"), Buffer.concat([Buffer.from("COWD", "latin1"), Buffer.alloc(2044)]));
  bad("legacy.vmdk", "vmdk", ["vmdk-create-type"]);

  addVhdFamily({ at, good, bad, data });

  // vdi
  qemuImg("convert", "-f", "raw", "-O", "vdi", data, at("dynamic.vdi"));
  good("dynamic.vdi", "vdi", "dynamic", "vdi");
  qemuImg("create", "-q", "-f", "vdi", "-o", "static=on", at("static.vdi"), "2M");
  good("static.vdi", "vdi", "fixed", "vdi");
  patch(copy(at("dynamic.vdi"), at("parent.vdi")), 0x1b8, [1, 2, 3, 4]);
  bad("parent.vdi", "vdi", ["vdi-corrupt-header"]);

  // ploop (qemu's parallels)
  qemuImg("convert", "-f", "raw", "-O", "parallels", data, at("disk.ploop"));
  good("disk.ploop", "ploop", "ext", "parallels");
  patch(copy(at("disk.ploop"), at("version3.ploop")), 16, [3, 0, 0, 0]);
  bad("version3.ploop", "ploop", ["ploop-corrupt-header"]);
  patch(copy(at("disk.ploop"), at("extension.ploop")), 56, [0, 0, 0, 0, 0, 0, 0x80, 0]);
  bad("extension.ploop", "ploop", ["ploop-format-extension"]);

  // raw disks with partition tables, ISO and UDF (qemu reads them all as raw)
  makeGpt(at("gpt.raw"), 4 * MiB);
  good("gpt.raw", "raw", "gpt", "raw");
  makeMbr(at("mbr.raw"), 4 * MiB);
  good("mbr.raw", "raw", "mbr", "raw");
  makeIso(at("plain.iso"));
  good("plain.iso", "iso", "iso9660", "raw");
  makeUdf(at("nsr02.udf"), "NSR02");
  good("nsr02.udf", "iso", "udf", "raw");
  makeUdf(at("nsr03.udf"), "NSR03", true);
  good("nsr03.udf", "iso", "udf", "raw");
  makeIso(at("hybrid.iso"));
  patch(at("hybrid.iso"), 0, mbrSector(0x17, 0, MiB / 512));
  good("hybrid.iso", "iso", "iso9660", "raw");
  makeGpt(at("gpt-past-end.raw"), 4 * MiB, BigInt((8 * MiB) / 512));
  bad("gpt-past-end.raw", "raw", ["partition-table"]);
  makeGpt(at("gpt-array-past-end.raw"), 256 * 1024, 400n, 4096);
  bad("gpt-array-past-end.raw", "raw", ["partition-table"]);
  makeMbr(at("mbr-past-end.raw"), 4 * MiB, (64 * MiB) / 512);
  bad("mbr-past-end.raw", "raw", ["partition-table"]);

  // polyglots
  makeIso(at("iso-qcow2.iso"));
  patch(at("iso-qcow2.iso"), 0, peek(at("v3.qcow2"), 0, 512));
  bad("iso-qcow2.iso", "qcow2", ["polyglot"]);
  copy(at("v3.qcow2"), at("qcow2-vhd.qcow2"));
  const padded = Math.ceil(statSync(at("qcow2-vhd.qcow2")).size / 512) * 512;
  truncateSync(at("qcow2-vhd.qcow2"), padded);
  qemuImg("create", "-q", "-f", "vpc", "-o", "subformat=fixed,force_size=on", at("footer-donor.vhd"), String(padded));
  appendFileSync(at("qcow2-vhd.qcow2"), peek(at("footer-donor.vhd"), padded, 512));
  bad("qcow2-vhd.qcow2", "qcow2", ["polyglot"]);

  // luks
  await luks;
  good("good.luks", "luks", "luks1", "luks");
  images[images.length - 1]!.secretFile = secretFile;
  appendFileSync(copy(at("good.luks"), at("odd-size.luks")), "x");
  good("odd-size.luks", "luks", "luks1", "luks");
  patch(copy(at("good.luks"), at("version9.luks")), 6, [0, 9]);
  bad("version9.luks", "luks", ["luks-version"]);
  patch(copy(at("good.luks"), at("cipher.luks")), 8, Buffer.from("rot13\0", "latin1"));
  bad("cipher.luks", "luks", ["luks-corrupt-header"]);
  // Key slot 0 asks for 2^32-1 PBKDF2 iterations: about 20 minutes of a core before qemu could try the passphrase.
  patch(copy(at("good.luks"), at("slow-slot.luks")), 208 + 4, [0xff, 0xff, 0xff, 0xff]);
  bad("slow-slot.luks", "luks", ["luks-iterations"]);
  patch(copy(at("good.luks"), at("slow-digest.luks")), 164, [0x10, 0, 0, 0]);
  bad("slow-digest.luks", "luks", ["luks-iterations"]);

  images.push(...buildProbeCases(dir));
  return images;
}
