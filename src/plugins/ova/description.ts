import type { ApplianceOutput } from "../../plugin-api.ts";
import type { ExtractedAppliance } from "./extract.ts";

/**
 * What `<stem>.ovf.json` says of the machine, for whoever creates the VM from the converted
 * disks: the machine's name, OS, CPUs, memory and firmware, its disks in order (capacity,
 * controller, and the output file each became), its network adapters and networks, and
 * whether a manifest was verified or a certificate seen (never trusted).
 *
 * @example
 * ```ts
 * declare const appliance: ExtractedAppliance, outputs: ApplianceOutput[];
 * JSON.stringify(describeAppliance(appliance, outputs)); // {"name":"web-01","cpus":2,…,"disks":[{"id":"vmdisk1","file":"web-01-disk1.qcow2",…}]}
 * ```
 */
export function describeAppliance(appliance: ExtractedAppliance, outputs: ApplianceOutput[]): Record<string, unknown> {
  const { machine } = appliance.descriptor;
  return {
    ...machine,
    disks: machine.disks.map((disk, i) => ({ ...disk, ...outputs[i] })),
    manifest: appliance.verified ? "verified" : "absent",
    certificate: appliance.certificate ? "present, not verified" : "absent",
  };
}
