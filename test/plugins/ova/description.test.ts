import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDescriptor } from "../../../src/plugins/ova/descriptor.ts";
import { describeAppliance } from "../../../src/plugins/ova/description.ts";
import { vmwareOvf } from "./fixtures.ts";

describe("describeAppliance: the .ovf.json", () => {
  const descriptor = parseDescriptor(
    vmwareOvf([
      { href: "a.vmdk", capacityGiB: 2 },
      { href: "b.vmdk", capacityGiB: 1 },
    ]),
  );
  const outputs = [
    { file: "vm-disk1.qcow2", format: "qcow2", virtualSize: 2 * 2 ** 30, size: 1000 },
    { file: "vm-disk2.qcow2", format: "qcow2", virtualSize: 2 ** 30, size: 2000 },
  ];

  const described_with = (seen: { verified: boolean; certificate: boolean }) =>
    describeAppliance({ dir: "/w", descriptor, disks: [], ...seen }, outputs);

  it("is the machine, each disk joined with its output in order, and what was verified", () => {
    const described = describeAppliance(
      { dir: "/w", descriptor, disks: [], verified: true, certificate: true },
      outputs,
    );
    assert.equal(described.name, "web-01 & co");
    assert.equal(described.firmware, "efi");
    assert.equal(described.manifest, "verified");
    assert.equal(described.certificate, "present, not verified");
    assert.deepEqual(
      (described.disks as Array<Record<string, unknown>>).map((d) => [d.id, d.capacity, d.file, d.size]),
      [
        ["vmdisk1", 2 * 2 ** 30, "vm-disk1.qcow2", 1000],
        ["vmdisk2", 2 ** 30, "vm-disk2.qcow2", 2000],
      ],
    );
  });

  it("says when there was no manifest and no certificate", () => {
    const described = describeAppliance(
      { dir: "/w", descriptor, disks: [], verified: false, certificate: false },
      outputs,
    );
    assert.equal(described.manifest, "absent");
    assert.equal(described.certificate, "absent");
  });
});
