import type { ImageReader } from "../io/reader.ts";
import { matchAscii, u32be, u32le } from "./bytes.ts";
import { problem } from "./problem.ts";
import { readAt } from "./region.ts";
import type { Detection, Detector } from "./types.ts";
import { qemuProbesDescriptor } from "./vmdk-probe.ts";

/** What qemu 7.2's probe for a driver compares in the first bytes of an image. */
interface ProbeSignature {
  /** The format name an inspection reports. */
  format: string;
  /** The qemu driver, which a loaded plugin's detector takes over. */
  driver: string;
  /** How the refusal names the images. */
  label: string;
  matches(head: Uint8Array): boolean;
}

const QCOW_MAGIC = "QFI\xfb";

/**
 * The signatures qemu's probes recognize (what qemu-img would open as that format without
 * `-f`), each looser than or equal to the probe: a qcow2 magic with any version but 1 (qcow),
 * a VMDK magic or a text descriptor, and so on.
 */
const SIGNATURES: readonly ProbeSignature[] = [
  {
    format: "qcow2",
    driver: "qcow2",
    label: "qcow2 images",
    matches: (head) => matchAscii(head, 0, QCOW_MAGIC) && u32be(head, 4) !== 1,
  },
  {
    format: "vmdk",
    driver: "vmdk",
    label: "VMDK images",
    matches: (head) =>
      ["KDMV", "COWD", "# Disk DescriptorFile"].some((magic) => matchAscii(head, 0, magic)) ||
      qemuProbesDescriptor(head),
  },
  { format: "vhdx", driver: "vhdx", label: "VHDX images", matches: (head) => matchAscii(head, 0, "vhdxfile") },
  { format: "vdi", driver: "vdi", label: "VDI images", matches: (head) => u32le(head, 0x40) === 0xbeda107f },
  // qemu also wants version 2 in a full 64-byte header; the magic alone is refused here.
  {
    format: "parallels",
    driver: "parallels",
    label: "Parallels images (qemu's parallels driver)",
    matches: (head) => ["WithoutFreeSpace", "WithouFreSpacExt"].some((magic) => matchAscii(head, 0, magic)),
  },
  // qemu also wants version 1; the magic alone is refused here.
  { format: "luks", driver: "luks", label: "LUKS images", matches: (head) => matchAscii(head, 0, "LUKS\xba\xbe") },
  // qemu's vpc probe looks at offset 0 only: a fixed VHD, whose footer is only at the end, is raw to it.
  {
    format: "vhd",
    driver: "vpc",
    label: "VHD images (qemu's vpc driver)",
    matches: (head) => matchAscii(head, 0, "conectix"),
  },
];

/** How many bytes qemu 7.2 gives its probes. */
const PROBE_BYTES = 512;

function standIn(signature: ProbeSignature): Detector {
  const detect = async (reader: ImageReader): Promise<Detection | null> => {
    if (!signature.matches(await readAt(reader, 0, PROBE_BYTES))) return null;
    const message = `${signature.label} are not accepted: no loaded plugin converts this format`;
    return { format: signature.format, problems: [problem("unsupported-format", message)] };
  };
  return { name: signature.format, phase: "head", driver: signature.driver, standIn: true, detect };
}

/**
 * Stand-ins for the format plugins that are not loaded: for each format qemu's probe
 * recognizes (qcow2, VMDK, VHDX, VDI, Parallels, LUKS, VHD), a detector that rejects a
 * matching image with `unsupported-format`, so that an image in a format no plugin handles is
 * never taken for raw. An inspection leaves a stand-in out when its detectors include one for
 * the same qemu driver (the plugin's own, with the format's real checks).
 *
 * @example
 * ```ts
 * const qcow2 = probeStandIns.find((d) => d.driver === "qcow2");
 * (await qcow2?.detect(reader, {}))?.problems[0]?.code; // "unsupported-format"
 * ```
 */
export const probeStandIns: readonly Detector[] = Object.freeze(SIGNATURES.map(standIn));
