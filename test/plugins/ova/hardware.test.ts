import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDescriptor } from "../../../src/plugins/ova/descriptor.ts";
import type { OvfMachine } from "../../../src/plugins/ova/hardware.ts";
import { refusedBy } from "./refused.ts";

/** An OVF item element: `<Item><rasd:Name>value</rasd:Name>…</Item>` (OVF 2: StorageItem with sasd:, …). */
function item(fields: Record<string, string>, tag = "Item", prefix = "rasd"): string {
  const inner = Object.entries(fields)
    .map(([name, value]) => `<${prefix}:${name}>${value}</${prefix}:${name}>`)
    .join("");
  return `<${tag}>${inner}</${tag}>`;
}

/**
 * A descriptor with one disk `vmdisk1` (1 GiB, file f1), `hardware` in its VirtualHardwareSection,
 * `system` before it in the VirtualSystem (whose attributes are `systemAttributes`), and `networks`.
 */
function ovf(hardware: string, system = "<Name>vm</Name>", networks = "", systemAttributes = 'ovf:id="vm-id"'): string {
  return `<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="urn:rasd" xmlns:sasd="urn:sasd" xmlns:epasd="urn:epasd" xmlns:vmw="http://www.vmware.com/schema/ovf" xmlns:vbox="http://www.virtualbox.org/ovf/machine">
  <References><File ovf:href="d1.vmdk" ovf:id="f1"/></References>
  <DiskSection><Disk ovf:capacity="1" ovf:capacityAllocationUnits="byte * 2^30" ovf:diskId="vmdisk1" ovf:fileRef="f1"/></DiskSection>
  <NetworkSection>${networks}</NetworkSection>
  <VirtualSystem ${systemAttributes}>${system}<VirtualHardwareSection>${hardware}</VirtualHardwareSection></VirtualSystem>
</Envelope>`;
}

const machineOf = (text: string): OvfMachine => parseDescriptor(text).machine;
const GiB = 2 ** 30;
const BARE_DISK = { id: "vmdisk1", capacity: GiB };

/** The disk vmdisk1 attached to `controller` (its InstanceID) at `address`. */
const diskOn = (controller: string, address = "0", host = "ovf:/disk/vmdisk1") =>
  item({ AddressOnParent: address, HostResource: host, InstanceID: "9", Parent: controller, ResourceType: "17" });

const refused = (text: string, code: string, message: string) => refusedBy(parseDescriptor, text, code, message);

describe("the machine of a descriptor: CPUs and memory", () => {
  it("takes the first CPU item's count and leaves out what is not given", () => {
    const cpus = item({ InstanceID: "1", ResourceType: "3", VirtualQuantity: "4" });
    const other = item({ InstanceID: "2", ResourceType: "3", VirtualQuantity: "8" });
    assert.deepEqual(machineOf(ovf(cpus + other)), {
      name: "vm",
      cpus: 4,
      firmware: "bios",
      disks: [BARE_DISK],
      nics: [],
      networks: [],
    });
    assert.deepEqual(machineOf(ovf("")), { name: "vm", firmware: "bios", disks: [BARE_DISK], nics: [], networks: [] });
    // A CPU item without a quantity gives no count.
    assert.equal(machineOf(ovf(item({ InstanceID: "1", ResourceType: "3" }))).cpus, undefined);
  });

  it("reads the memory in MiB for each spelling of its units, MiB when none", () => {
    const cases: [string | undefined, string, number][] = [
      ["byte * 2^20", "2048", 2048],
      ["MegaBytes", "512", 512],
      ["byte * 2^30", "4", 4096],
      ["GigaBytes", "2", 2048],
      [undefined, "1024", 1024],
      ["KiloBytes", "1536", 1],
      ["byte", String(3 * 2 ** 20 + 5), 3],
      ["byte * 10^6", "1000", 953],
    ];
    for (const [units, quantity, mib] of cases) {
      const memory = item({
        ...(units === undefined ? {} : { AllocationUnits: units }),
        InstanceID: "2",
        ResourceType: "4",
        VirtualQuantity: quantity,
      });
      assert.equal(machineOf(ovf(memory)).memoryMiB, mib, `${units} ${quantity}`);
    }
    assert.equal(machineOf(ovf(item({ ResourceType: "4", AllocationUnits: "MegaBytes" }))).memoryMiB, undefined);
  });

  it("refuses a CPU count or memory that is not a count, and unknown memory units", () => {
    const cpus = (quantity: string) => ovf(item({ ResourceType: "3", VirtualQuantity: quantity }));
    refused(cpus("two"), "ova-descriptor-invalid", 'the CPU count is "two", not a count');
    refused(cpus("0"), "ova-descriptor-invalid", 'the CPU count is "0", not a count');
    const memory = (quantity: string, units: string) =>
      ovf(item({ AllocationUnits: units, ResourceType: "4", VirtualQuantity: quantity }));
    refused(memory("0", "MegaBytes"), "ova-descriptor-invalid", 'the memory is "0", not a count');
    refused(memory("1", "furlongs"), "ova-descriptor-invalid", 'the memory has the units "furlongs"');
  });
});

describe("the machine of a descriptor: disks and their controllers", () => {
  const controller = (type: string, subtype?: string, id = "3") =>
    item({ InstanceID: id, ...(subtype === undefined ? {} : { ResourceSubType: subtype }), ResourceType: type });

  it("tells the controller kind by resource type, then subtype", () => {
    const cases: [string, string | undefined, OvfMachine["disks"][number]["controller"]][] = [
      ["5", "PIIX4", { kind: "ide", subtype: "PIIX4" }],
      ["5", "nvme", { kind: "ide", subtype: "nvme" }],
      ["5", undefined, { kind: "ide" }],
      ["6", "lsilogic", { kind: "scsi", subtype: "lsilogic" }],
      ["6", "AHCI", { kind: "scsi", subtype: "AHCI" }],
      ["6", undefined, { kind: "scsi" }],
      ["20", "AHCI", { kind: "sata", subtype: "AHCI" }],
      ["20", "vmware.sata.ahci", { kind: "sata", subtype: "vmware.sata.ahci" }],
      ["20", "SATA", { kind: "sata", subtype: "SATA" }],
      ["20", "vmware.nvme.controller", { kind: "nvme", subtype: "vmware.nvme.controller" }],
      ["20", "NVMe", { kind: "nvme", subtype: "NVMe" }],
      ["20", "usb", { kind: "other", subtype: "usb" }],
      ["20", undefined, { kind: "other" }],
    ];
    for (const [type, subtype, expected] of cases)
      assert.deepEqual(
        machineOf(ovf(controller(type, subtype) + diskOn("3", "1"))).disks,
        [{ ...BARE_DISK, controller: expected, address: "1" }],
        `${type} ${subtype}`,
      );
  });

  it("attaches a disk only through a storage controller", () => {
    for (const type of ["3", "4", "10", "17", "15"])
      assert.deepEqual(
        machineOf(ovf(item({ InstanceID: "3", ResourceType: type, VirtualQuantity: "1" }) + diskOn("3", "2"))).disks,
        [{ ...BARE_DISK, address: "2" }],
        type,
      );
    // A controller without an InstanceID is nobody's parent, not even of a disk without a Parent.
    const orphan = item({ AddressOnParent: "4", HostResource: "ovf:/disk/vmdisk1", ResourceType: "17" });
    assert.deepEqual(machineOf(ovf(item({ ResourceType: "6" }) + orphan)).disks, [{ ...BARE_DISK, address: "4" }]);
  });

  it("reads the disk's HostResource with or without the ovf: prefix, nothing else", () => {
    const scsi = controller("6", "lsilogic");
    const attached = { ...BARE_DISK, controller: { kind: "scsi", subtype: "lsilogic" }, address: "0" };
    assert.deepEqual(machineOf(ovf(scsi + diskOn("3", "0", "ovf:/disk/vmdisk1"))).disks, [attached]);
    assert.deepEqual(machineOf(ovf(scsi + diskOn("3", "0", "/disk/vmdisk1"))).disks, [attached]);
    for (const host of [
      "ovf:/disk/vmdisk1&#10;x",
      "ovf:/disk/vmdisk1\nx",
      "xovf:/disk/vmdisk1",
      "x/disk/vmdisk1",
      "ovf:/file/f1",
      "ovf:/disk/",
      "vmdisk1",
    ])
      assert.deepEqual(machineOf(ovf(scsi + diskOn("3", "0", host))).disks, [BARE_DISK], host);
    // Only disk items (type 17) attach: a CD drive naming the disk does not.
    const cd = item({ HostResource: "ovf:/disk/vmdisk1", Parent: "3", ResourceType: "15", AddressOnParent: "0" });
    assert.deepEqual(machineOf(ovf(scsi + cd)).disks, [BARE_DISK]);
  });

  it("reads OVF 2's StorageItem and EthernetPortItem", () => {
    const storage = item({ InstanceID: "3", ResourceSubType: "AHCI", ResourceType: "20" }, "StorageItem", "sasd");
    const disk = item(
      { AddressOnParent: "5", HostResource: "ovf:/disk/vmdisk1", Parent: "3", ResourceType: "17" },
      "StorageItem",
      "sasd",
    );
    const nic = item({ Connection: "lan", ResourceSubType: "E1000", ResourceType: "10" }, "EthernetPortItem", "epasd");
    const machine = machineOf(ovf(storage + disk + nic, "", '<Network ovf:name="lan"/>'));
    assert.deepEqual(machine.disks, [{ ...BARE_DISK, controller: { kind: "sata", subtype: "AHCI" }, address: "5" }]);
    assert.deepEqual(machine.nics, [{ network: "lan", model: "E1000" }]);
    assert.deepEqual(machine.networks, ["lan"]);
  });
});

describe("the machine of a descriptor: name, OS, firmware, network", () => {
  it("names the machine by Name, else by its ovf:id, else not at all", () => {
    assert.equal(machineOf(ovf("", "<Name>web</Name>")).name, "web");
    assert.equal(machineOf(ovf("", "")).name, "vm-id");
    assert.equal(machineOf(ovf("", "", "", "")).name, "");
  });

  it("takes VMware's osType, else the OS description, and the CIM id (0 allowed)", () => {
    const os = (attributes: string, description = "") =>
      machineOf(ovf("", `<OperatingSystemSection ${attributes}><Info>i</Info>${description}</OperatingSystemSection>`));
    const both = os('ovf:id="101" vmw:osType="ubuntu64Guest"', "<Description>Ubuntu</Description>");
    assert.deepEqual([both.osType, both.osId], ["ubuntu64Guest", 101]);
    const described = os('ovf:id="0"', "<Description>Other Linux</Description>");
    assert.deepEqual([described.osType, described.osId], ["Other Linux", 0]);
    const bare = os("");
    assert.ok(!("osType" in bare) && !("osId" in bare));
    refused(
      ovf("", '<OperatingSystemSection ovf:id="linux"/>'),
      "ova-descriptor-invalid",
      'the operating system id is "linux", not a count',
    );
  });

  it("reads VMware's firmware Config and nothing but its firmware key", () => {
    const config = (key: string, value?: string) =>
      `<vmw:Config ovf:required="false" vmw:key="${key}"${value === undefined ? "" : ` vmw:value="${value}"`}/>`;
    const cases: [string, OvfMachine["firmware"]][] = [
      [config("firmware", "efi"), "efi"],
      [config("firmware", "EFI"), "efi"],
      [config("firmware", "bios"), "bios"],
      [config("firmware", "efi64"), "bios"],
      [config("firmware"), "bios"],
      [config("nvram", "efi"), "bios"],
      [config("nvram", "vm.nvram") + config("firmware", "efi"), "efi"],
      [config("firmware", "bios") + config("firmware", "efi"), "bios"],
    ];
    for (const [hardware, firmware] of cases) assert.equal(machineOf(ovf(hardware)).firmware, firmware, hardware);
  });

  it("reads VirtualBox's Firmware element when VMware says nothing", () => {
    const vbox = (firmware: string) =>
      `<Name>vm</Name><vbox:Machine ovf:required="false"><Hardware>${firmware}</Hardware></vbox:Machine>`;
    const cases: [string, OvfMachine["firmware"]][] = [
      ['<Firmware type="EFI"/>', "efi"],
      ['<Firmware type="efi"/>', "efi"],
      ['<Firmware type="EFI64"/>', "efi"],
      ['<Firmware type="EFIDUAL"/>', "efi"],
      ['<Firmware type="BIOS"/>', "bios"],
      ['<Firmware type="noefi"/>', "bios"],
      ["<Firmware/>", "bios"],
      ['<Other type="EFI"/>', "bios"],
    ];
    for (const [firmware, expected] of cases)
      assert.equal(machineOf(ovf("", vbox(firmware))).firmware, expected, firmware);
    // VMware's Config, when present, decides.
    const both = ovf('<vmw:Config vmw:key="firmware" vmw:value="bios"/>', vbox('<Firmware type="EFI"/>'));
    assert.equal(machineOf(both).firmware, "bios");
  });

  it("lists the adapters with what they give, and the named networks", () => {
    const nics =
      item({ Connection: "VM Network", ResourceSubType: "VmxNet3", ResourceType: "10" }) +
      item({ ResourceType: "10" }) +
      item({ Connection: "x", ResourceType: "11" });
    const networks = '<Network ovf:name="VM Network"/><Network/><Network ovf:name="backup"/>';
    const machine = machineOf(ovf(nics, "", networks));
    assert.deepEqual(machine.nics, [{ network: "VM Network", model: "VmxNet3" }, {}]);
    assert.deepEqual(machine.networks, ["VM Network", "backup"]);
  });
});
