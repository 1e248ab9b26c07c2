import type { CorpusBuilder } from "./corpus.ts";
import {
  copy,
  editVhdFooter,
  editVhdxHeaders,
  FILE_PARAMETERS,
  LOGICAL_SECTOR,
  patch,
  qemuImg,
  u32be,
  vhdxItem,
} from "./corpus-tools.ts";

const MiB = 1024 * 1024;

/**
 * The VHD and VHDX images of the corpus: good ones from qemu-img, images with other creators'
 * geometry, and hostile ones patched by hand.
 */
export function addVhdFamily({ at, good, bad, data }: CorpusBuilder): void {
  // vhd (qemu's vpc)
  qemuImg("convert", "-f", "raw", "-O", "vpc", data, at("dynamic.vhd"));
  good("dynamic.vhd", "vhd", "dynamic", "vpc");
  qemuImg("convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed", data, at("fixed.vhd"));
  good("fixed.vhd", "vhd", "fixed", "vpc");
  qemuImg("create", "-q", "-f", "vpc", "-o", "force_size=on", at("force-size.vhd"), "5000000");
  good("force-size.vhd", "vhd", "dynamic", "vpc");
  qemuImg("create", "-q", "-f", "vpc", "-o", "subformat=fixed,force_size=on", at("fixed-force-size.vhd"), "3000000");
  good("fixed-force-size.vhd", "vhd", "fixed", "vpc");
  qemuImg("create", "-q", "-f", "vpc", at("unaligned.vhd"), "5000000");
  good("unaligned.vhd", "vhd", "dynamic", "vpc");
  // Other creators: geometry and current size disagree, so only qemu's rule gets these right.
  for (const [creator, label] of [
    ["win ", "hyperv"],
    ["vpc ", "virtualpc"],
    ["d2v ", "disk2vhd"],
    ["tap\0", "xenserver"],
    ["CTXS", "xenconverter"],
    ["qemu", "qemu"],
  ] as const) {
    const name = `creator-${label}.vhd`;
    editVhdFooter(copy(at("dynamic.vhd"), at(name)), (f) => {
      f.write(creator, 28, "latin1");
      f.writeBigUInt64BE(3n * BigInt(MiB) + 1000n, 48);
      f.writeUInt16BE(100, 56);
      f.writeUInt8(4, 58);
      f.writeUInt8(17, 59);
    });
    good(name, "vhd", "dynamic", "vpc");
  }
  editVhdFooter(copy(at("dynamic.vhd"), at("max-geometry.vhd")), (f) => {
    f.write("vpc ", 28, "latin1");
    f.writeBigUInt64BE(3n * BigInt(MiB) + 512n, 48);
    f.writeUInt16BE(65535, 56);
    f.writeUInt8(16, 58);
    f.writeUInt8(255, 59);
  });
  good("max-geometry.vhd", "vhd", "dynamic", "vpc");
  editVhdFooter(copy(at("dynamic.vhd"), at("differencing.vhd")), (f) => f.writeUInt32BE(4, 60));
  bad("differencing.vhd", "vhd", ["vhd-differencing"]);
  copy(at("differencing.vhd"), at("chain-member.vhd"));
  good("chain-member.vhd", "vhd", "differencing", "vpc", { inChainContainer: true });
  editVhdFooter(copy(at("fixed.vhd"), at("fixed-short.vhd")), (f) => {
    f.write("qem2", 28, "latin1");
    f.writeBigUInt64BE(64n * BigInt(MiB), 48);
  });
  bad("fixed-short.vhd", "vhd", ["truncated"]);
  patch(copy(at("dynamic.vhd"), at("block-past-end.vhd")), 1536, u32be(0x100000));
  bad("block-past-end.vhd", "vhd", ["truncated"]);
  editVhdFooter(copy(at("dynamic.vhd"), at("type1.vhd")), (f) => f.writeUInt32BE(1, 60));
  bad("type1.vhd", "vhd", ["vhd-corrupt-header"]);
  copy(at("dynamic.vhd"), at("bad-checksum.vhd"));
  patch(at("bad-checksum.vhd"), 200, [0x5a]);
  bad("bad-checksum.vhd", "vhd", ["vhd-checksum"]);

  // vhdx
  qemuImg("convert", "-f", "raw", "-O", "vhdx", data, at("dynamic.vhdx"));
  good("dynamic.vhdx", "vhdx", "dynamic", "vhdx");
  qemuImg("create", "-q", "-f", "vhdx", "-o", "subformat=fixed", at("fixed.vhdx"), "3M");
  good("fixed.vhdx", "vhdx", "fixed", "vhdx");
  qemuImg("create", "-q", "-f", "vhdx", at("unaligned.vhdx"), "3000000");
  good("unaligned.vhdx", "vhdx", "dynamic", "vhdx");
  copy(at("unaligned.vhdx"), at("logical-4k.vhdx"));
  patch(at("logical-4k.vhdx"), vhdxItem(at("logical-4k.vhdx"), LOGICAL_SECTOR), [0, 0x10, 0, 0]);
  bad("logical-4k.vhdx", "vhdx", ["vhdx-corrupt-header"]);
  copy(at("dynamic.vhdx"), at("parent.vhdx"));
  patch(at("parent.vhdx"), vhdxItem(at("parent.vhdx"), FILE_PARAMETERS) + 4, [2, 0, 0, 0]);
  bad("parent.vhdx", "vhdx", ["vhdx-differencing"]);
  editVhdxHeaders(copy(at("dynamic.vhdx"), at("log.vhdx")), (h) => h.fill(0x33, 48, 64));
  bad("log.vhdx", "vhdx", ["vhdx-log"]);
  copy(at("dynamic.vhdx"), at("region-crc.vhdx"));
  patch(at("region-crc.vhdx"), 192 * 1024 + 100, [0x5a]);
  bad("region-crc.vhdx", "vhdx", ["vhdx-corrupt-header"]);
}
