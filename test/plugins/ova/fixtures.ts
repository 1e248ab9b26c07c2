/** What a made-up appliance's descriptor holds. */
export interface ApplianceDisk {
  href: string;
  capacityGiB: number;
  /** The capacity in bytes instead (`ovf:capacityAllocationUnits` left out: bytes). */
  capacityBytes?: number;
  size?: number;
  gzip?: boolean;
}

/** What {@link vmwareOvf}'s machine is, besides its disks. */
export const VMWARE_MACHINE = {
  name: "web-01 & co",
  osType: "ubuntu64Guest",
  osId: 101,
  cpus: 2,
  memoryMiB: 2048,
  firmware: "efi",
  nics: [{ network: "VM Network", model: "VmxNet3" }],
  networks: ["VM Network"],
};

/**
 * A VMware-style OVF 1.0 descriptor for a VM with `disks` on one SCSI controller, 2 CPUs,
 * 2 GiB of memory, EFI firmware and one VMXNET3 adapter; `extra` is added to the Envelope.
 */
export function vmwareOvf(disks: ApplianceDisk[], extra = ""): string {
  const files = disks
    .map(
      (d, i) =>
        `<File ovf:href="${d.href}" ovf:id="file${i + 1}"${d.size === undefined ? "" : ` ovf:size="${d.size}"`}${d.gzip ? ' ovf:compression="gzip"' : ""}/>`,
    )
    .join("\n    ");
  const diskSection = disks
    .map(
      (d, i) =>
        `<Disk ${d.capacityBytes === undefined ? `ovf:capacity="${d.capacityGiB}" ovf:capacityAllocationUnits="byte * 2^30"` : `ovf:capacity="${d.capacityBytes}"`} ovf:diskId="vmdisk${i + 1}" ovf:fileRef="file${i + 1}" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>`,
    )
    .join("\n    ");
  const diskItems = disks
    .map(
      (_, i) => `<Item>
        <rasd:AddressOnParent>${i}</rasd:AddressOnParent>
        <rasd:ElementName>Hard disk ${i + 1}</rasd:ElementName>
        <rasd:HostResource>ovf:/disk/vmdisk${i + 1}</rasd:HostResource>
        <rasd:InstanceID>${10 + i}</rasd:InstanceID>
        <rasd:Parent>3</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType>
      </Item>`,
    )
    .join("\n      ");
  return `<?xml version="1.0" encoding="UTF-8"?>
<Envelope vmw:buildId="build-1" xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <References>
    ${files}
  </References>
  <DiskSection>
    <Info>Virtual disk information</Info>
    ${diskSection}
  </DiskSection>
  <NetworkSection>
    <Info>The list of logical networks</Info>
    <Network ovf:name="VM Network"><Description>The VM Network network</Description></Network>
  </NetworkSection>
  <VirtualSystem ovf:id="web-01">
    <Info>A virtual machine</Info>
    <Name>web-01 &amp; co</Name>
    <OperatingSystemSection ovf:id="101" vmw:osType="ubuntu64Guest">
      <Info>The kind of installed guest operating system</Info>
      <Description>Ubuntu Linux (64-bit)</Description>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements</Info>
      <System><vssd:ElementName>Virtual Hardware Family</vssd:ElementName><vssd:InstanceID>0</vssd:InstanceID><vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType></System>
      <Item>
        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>
        <rasd:ElementName>2 virtual CPU(s)</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>2</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>
        <rasd:ElementName>2048MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>2048</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:Address>0</rasd:Address>
        <rasd:ElementName>SCSI controller 0</rasd:ElementName>
        <rasd:InstanceID>3</rasd:InstanceID>
        <rasd:ResourceSubType>lsilogic</rasd:ResourceSubType>
        <rasd:ResourceType>6</rasd:ResourceType>
      </Item>
      ${diskItems}
      <Item>
        <rasd:AddressOnParent>7</rasd:AddressOnParent>
        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>
        <rasd:Connection>VM Network</rasd:Connection>
        <rasd:ElementName>Network adapter 1</rasd:ElementName>
        <rasd:InstanceID>20</rasd:InstanceID>
        <rasd:ResourceSubType>VmxNet3</rasd:ResourceSubType>
        <rasd:ResourceType>10</rasd:ResourceType>
      </Item>
      <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="efi"/>
    </VirtualHardwareSection>
  </VirtualSystem>
  ${extra}
</Envelope>
`;
}
