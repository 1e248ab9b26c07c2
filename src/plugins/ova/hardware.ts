import type { OvfDisk } from "./descriptor.ts";
import { bytesOf, positiveInteger } from "./units.ts";
import { attr, child, children, textOf, type XmlNode } from "./xml.ts";

/** How a disk is attached, from its controller's CIM resource type and subtype. */
export type ControllerKind = "ide" | "scsi" | "sata" | "nvme" | "other";

/** One disk of the machine, in the order of the descriptor's DiskSection. */
export interface OvfMachineDisk {
  /** The descriptor's `ovf:diskId`. */
  id: string;
  /** Its capacity in bytes. */
  capacity: number;
  /** Its controller, when the hardware section attaches it to one. */
  controller?: { kind: ControllerKind; subtype?: string };
  /** Its address on that controller (`rasd:AddressOnParent`). */
  address?: string;
}

/** A network adapter. */
export interface OvfNic {
  /** The network it connects to (`rasd:Connection`), as named in the NetworkSection. */
  network?: string;
  /** The adapter model (`rasd:ResourceSubType`: `VmxNet3`, `E1000`, …). */
  model?: string;
}

/** The virtual machine an appliance describes: what `<stem>.ovf.json` holds besides the outputs. */
export interface OvfMachine {
  name: string;
  /** `vmw:osType` (VMware's guest id) when given, else the OperatingSystemSection's description. */
  osType?: string;
  /** The CIM operating-system number (`OperatingSystemSection ovf:id`). */
  osId?: number;
  cpus?: number;
  memoryMiB?: number;
  /** `efi` when the descriptor asks for it (VMware's `firmware` config, VirtualBox's Firmware), else `bios`. */
  firmware: "bios" | "efi";
  disks: OvfMachineDisk[];
  nics: OvfNic[];
  /** The networks the NetworkSection declares. */
  networks: string[];
}

/** CIM_ResourceAllocationSettingData resource types diskpipe reads. */
const CPU = "3";
const MEMORY = "4";
const IDE = "5";
const SCSI = "6";
const NIC = "10";
const DISK = "17";
const OTHER_STORAGE = "20";
const STORAGE = new Set<string | undefined>([IDE, SCSI, OTHER_STORAGE]);

/**
 * The machine a VirtualSystem element describes: name, OS, CPUs, memory, firmware, its
 * disks with their controllers, its network adapters.
 *
 * @example
 * ```ts
 * declare const virtualSystem: XmlNode, disks: OvfDisk[], networks: XmlNode[];
 * const machine = machineOf(virtualSystem, disks, networks);
 * ```
 */
export function machineOf(system: XmlNode | undefined, disks: readonly OvfDisk[], networks: XmlNode[]): OvfMachine {
  const hardware = child(system, "VirtualHardwareSection");
  const items = ["Item", "StorageItem", "EthernetPortItem"].flatMap((name) => children(hardware, name));
  const ofType = (type: string) => items.filter((item) => textOf(item, "ResourceType") === type);
  const os = child(system, "OperatingSystemSection");
  const osId = attr(os, "id");
  const cpus = textOf(ofType(CPU)[0], "VirtualQuantity");
  const memory = ofType(MEMORY)[0];
  const memoryQuantity = textOf(memory, "VirtualQuantity");
  const controllers = new Map(
    items
      .filter((item) => STORAGE.has(textOf(item, "ResourceType")))
      .map((item) => [textOf(item, "InstanceID"), controllerOf(item)]),
  );
  const attached = new Map(
    ofType(DISK).flatMap((item) => {
      const resource = textOf(item, "HostResource");
      // Stryker disable next-line StringLiteral: no HostResource, like any text not of this form, names no disk
      const host = /^(?:ovf:)?\/disk\/(.+)$/.exec(resource ?? "");
      return host?.[1] ? [[host[1], item] as const] : [];
    }),
  );
  return {
    name: textOf(system, "Name") ?? attr(system, "id") ?? "",
    ...optional("osType", attr(os, "osType") ?? textOf(os, "Description")),
    ...optional("osId", osId === undefined ? undefined : positiveInteger(osId, "the operating system id", true)),
    ...optional("cpus", cpus === undefined ? undefined : positiveInteger(cpus, "the CPU count")),
    ...optional(
      "memoryMiB",
      memoryQuantity === undefined
        ? undefined
        : Math.floor(
            bytesOf(memoryQuantity, textOf(memory, "AllocationUnits") ?? "byte * 2^20", "the memory") / 2 ** 20,
          ),
    ),
    firmware: firmwareOf(system, hardware),
    disks: disks.map((disk) => {
      const item = attached.get(disk.id);
      const parent = textOf(item, "Parent");
      const controller = parent === undefined ? undefined : controllers.get(parent);
      return {
        id: disk.id,
        capacity: disk.capacity,
        ...optional("controller", controller),
        ...optional("address", textOf(item, "AddressOnParent")),
      };
    }),
    nics: ofType(NIC).map((item) => ({
      ...optional("network", textOf(item, "Connection")),
      ...optional("model", textOf(item, "ResourceSubType")),
    })),
    networks: networks.flatMap((network) => attr(network, "name") ?? []),
  };
}

function controllerOf(item: XmlNode): { kind: ControllerKind; subtype?: string } {
  const type = textOf(item, "ResourceType");
  const subtype = textOf(item, "ResourceSubType");
  // Stryker disable next-line StringLiteral: without a subtype any text naming no nvme, ahci or sata gives "other"
  const lower = subtype?.toLowerCase() ?? "";
  const kind: ControllerKind =
    type === IDE
      ? "ide"
      : type === SCSI
        ? "scsi"
        : lower.includes("nvme")
          ? "nvme"
          : lower.includes("ahci") || lower.includes("sata")
            ? "sata"
            : "other";
  return { kind, ...optional("subtype", subtype) };
}

function firmwareOf(system: XmlNode | undefined, hardware: XmlNode | undefined): "bios" | "efi" {
  const vmware = children(hardware, "Config").find((config) => attr(config, "key") === "firmware");
  if (vmware) return attr(vmware, "value")?.toLowerCase() === "efi" ? "efi" : "bios";
  const virtualBox = child(child(child(system, "Machine"), "Hardware"), "Firmware");
  return attr(virtualBox, "type")?.toLowerCase().startsWith("efi") ? "efi" : "bios";
}

/** `{ [key]: value }` when the value is defined, else nothing (JSON without undefined fields). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
