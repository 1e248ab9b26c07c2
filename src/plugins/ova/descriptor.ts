import { quote } from "../../plugin-api.ts";
import { machineOf, type OvfMachine } from "./hardware.ts";
import { OvaRefusal } from "./refusal.ts";
import { bytesOf, positiveInteger } from "./units.ts";
import { attr, child, children, isNode, parseXml, type XmlNode } from "./xml.ts";

/** A file the descriptor references: a member of the archive (or a file beside a plain `.ovf`). */
export interface OvfFile {
  /** `ovf:id`, what disks name in `ovf:fileRef`. */
  id: string;
  /** `ovf:href`: a bare member name (checked: no directories, no URLs). */
  href: string;
  /** `ovf:size` in bytes, when given (of the file as stored: compressed, all chunks). */
  size?: number;
  /** `ovf:compression="gzip"`: the member is gzip-compressed. */
  gzip: boolean;
  /** `ovf:chunkSize`: the file is stored as `href.000000000`, `href.000000001`, … of this size. */
  chunkSize?: number;
}

/** A virtual disk of the appliance, in the descriptor's order. */
export interface OvfDisk {
  /** `ovf:diskId`. */
  id: string;
  /** The file holding it. */
  file: OvfFile;
  /** `ovf:capacity` × `ovf:capacityAllocationUnits`, in bytes: what its image header must say. */
  capacity: number;
  /** The image format `ovf:format` names (a diskpipe format id); VMDK when not given. */
  format: string;
}

/** What diskpipe takes from an OVF descriptor. */
export interface OvfDescriptor {
  files: OvfFile[];
  disks: OvfDisk[];
  machine: OvfMachine;
}

/** The longest member name accepted (a tar header's name field without prefix). */
const MAX_HREF = 255;

/**
 * Reads an OVF descriptor (DMTF DSP0243, 1.x and 2.x): its file references, disks and the
 * virtual machine. Everything a hostile descriptor could use is refused: a document type, an
 * `ovf:href` that is not a bare member name (a path, `..`, a URL), a disk naming no file,
 * sizes that are not positive integers, compression other than gzip, several virtual systems.
 *
 * @example
 * ```ts
 * declare const ovfText: string; // the descriptor, read with a size bound
 * const { disks, machine } = parseDescriptor(ovfText);
 * ```
 */
export function parseDescriptor(text: string): OvfDescriptor {
  const root = parseXml(text)["Envelope"];
  if (!isNode(root)) throw new OvaRefusal("ova-descriptor-invalid", "the OVF descriptor has no Envelope element");
  const files = children(child(root, "References"), "File").map(fileOf);
  const ids = new Set<string>();
  for (const file of files) {
    if (ids.has(file.id)) throw new OvaRefusal("ova-descriptor-invalid", `two files have the id ${quote(file.id)}`);
    ids.add(file.id);
  }
  const hrefs = new Set(files.map((file) => file.href));
  if (hrefs.size !== files.length) throw new OvaRefusal("ova-descriptor-invalid", "two files name the same member");
  for (const file of files) {
    const chunkOf = /^(.+)\.\d{9}$/.exec(file.href)?.[1];
    // No href is undefined: a name that is not a chunk's matches no file.
    if (files.some((other) => other.href === chunkOf && other.chunkSize !== undefined))
      throw new OvaRefusal("ova-descriptor-invalid", `file ${quote(file.id)} has the name of a chunk of another file`);
  }
  const disks = children(child(root, "DiskSection"), "Disk").map((disk) => diskOf(disk, files));
  if (disks.length === 0) throw new OvaRefusal("ova-descriptor-invalid", "the OVF descriptor describes no disk");
  if (new Set(disks.map((disk) => disk.file)).size !== disks.length)
    throw new OvaRefusal("ova-descriptor-invalid", "two disks name the same file");
  if (child(root, "VirtualSystemCollection"))
    throw new OvaRefusal("ova-unsupported", "the appliance holds several virtual machines (VirtualSystemCollection)");
  const systems = children(root, "VirtualSystem");
  if (systems.length !== 1)
    throw new OvaRefusal(
      "ova-descriptor-invalid",
      `the OVF descriptor has ${systems.length} VirtualSystem elements, not 1`,
    );
  return { files, disks, machine: machineOf(systems[0], disks, children(child(root, "NetworkSection"), "Network")) };
}

/**
 * Whether `href` is a bare member name: no directory part, no `..`, no URL scheme, no control
 * characters, at most 255 bytes. Only such names are looked up in the archive or beside the
 * descriptor.
 *
 * @example
 * ```ts
 * isMemberName("vm-disk1.vmdk"); // true
 * isMemberName("../etc/passwd"); // false
 * ```
 */
export function isMemberName(href: string): boolean {
  return (
    href.length > 0 &&
    Buffer.byteLength(href) <= MAX_HREF &&
    !href.startsWith(".") &&
    !/[/\\:]/.test(href) &&
    // eslint-disable-next-line no-control-regex
    !/[\u0000-\u001f\u007f]/.test(href)
  );
}

function fileOf(node: XmlNode): OvfFile {
  const id = attr(node, "id");
  const href = attr(node, "href");
  if (!id || href === undefined)
    throw new OvaRefusal("ova-descriptor-invalid", "a File element lacks ovf:id or ovf:href");
  if (!isMemberName(href))
    throw new OvaRefusal("ova-href-unsafe", `file ${quote(id)} names ${quote(href)}, not a member name`);
  const compression = attr(node, "compression");
  if (compression !== undefined && compression !== "gzip" && compression !== "identity")
    throw new OvaRefusal(
      "ova-unsupported",
      `file ${quote(id)} uses compression ${quote(compression)} (only gzip is read)`,
    );
  const size = attr(node, "size");
  const chunkSize = attr(node, "chunkSize");
  if (chunkSize !== undefined && size === undefined)
    throw new OvaRefusal("ova-descriptor-invalid", `file ${quote(id)} is chunked but declares no ovf:size`);
  return {
    id,
    href,
    ...(size !== undefined && { size: positiveInteger(size, `the size of file ${quote(id)}`, true) }),
    gzip: compression === "gzip",
    ...(chunkSize !== undefined && { chunkSize: positiveInteger(chunkSize, `the chunk size of file ${quote(id)}`) }),
  };
}

function diskOf(node: XmlNode, files: readonly OvfFile[]): OvfDisk {
  const id = attr(node, "diskId");
  const fileRef = attr(node, "fileRef");
  if (!id || !fileRef)
    throw new OvaRefusal("ova-unsupported", "a disk without ovf:diskId or ovf:fileRef (an empty disk)");
  const file = files.find((candidate) => candidate.id === fileRef);
  if (!file)
    throw new OvaRefusal(
      "ova-descriptor-invalid",
      `disk ${quote(id)} names file ${quote(fileRef)}, which is not listed`,
    );
  const capacity = attr(node, "capacity");
  if (capacity === undefined) throw new OvaRefusal("ova-descriptor-invalid", `disk ${quote(id)} has no ovf:capacity`);
  const bytes = bytesOf(capacity, attr(node, "capacityAllocationUnits") ?? "byte", `the capacity of disk ${quote(id)}`);
  return { id, file, capacity: bytes, format: formatOf(attr(node, "format"), id) };
}

/** The diskpipe format an `ovf:format` URI names (VMware's, VirtualBox's and oVirt's spellings). */
function formatOf(uri: string | undefined, disk: string): string {
  if (uri === undefined) return "vmdk";
  const lower = uri.toLowerCase();
  if (lower.includes("vmdk")) return "vmdk";
  if (lower.includes("qcow")) return "qcow2";
  if (lower.includes("vhdx")) return "vhdx";
  if (lower.includes("vhd")) return "vhd";
  throw new OvaRefusal("ova-unsupported", `disk ${quote(disk)} has format ${quote(uri)}`);
}
