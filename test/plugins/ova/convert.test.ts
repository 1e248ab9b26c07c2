import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { TestServer } from "../../core/io/server.ts";
import { diskpipe, diskpipeAsync } from "../../helpers/cli.ts";
import { sameDisk, tempDir } from "../../helpers/images.ts";
import { applianceMembers, twoVmdks, writeTar } from "./archive.ts";
import { VMWARE_MACHINE } from "./fixtures.ts";

const MiB = 2 ** 20;

describe("diskpipe convert of an OVA", () => {
  const { dir, cleanup } = tempDir("diskpipe-ova-convert-");
  const server = new TestServer();
  let raws: string[] = [];
  let ova = "";
  let runs = 0;
  const outDir = () => {
    const out = join(dir, `out${++runs}`);
    mkdirSync(out);
    return out;
  };

  before(async () => {
    const vmdks = twoVmdks(dir);
    raws = vmdks.map((v) => v.raw);
    ova = await writeTar(
      join(dir, "web-01.ova"),
      applianceMembers([
        { href: "web-01-1.vmdk", capacityGiB: 0, capacityBytes: 3 * MiB, data: vmdks[0].vmdk },
        // The second disk gzip-compressed in the archive, as ovftool --compress writes it.
        { href: "web-01-2.vmdk", capacityGiB: 0, capacityBytes: 1 * MiB, gzip: true, data: gzipSync(vmdks[1].vmdk) },
      ]),
    );
    await server.start();
    server.routes.set("/web-01.ova", { file: ova });
  });
  after(async () => {
    await server.stop();
    cleanup();
  });

  /** Asserts `out` holds the two disks (same content as the raws they were made from) and the description. */
  function assertConverted(out: string, stem: string, to: string): Record<string, unknown> {
    assert.deepEqual(readdirSync(out).sort(), [`${stem}-disk1.${to}`, `${stem}-disk2.${to}`, `${stem}.ovf.json`]);
    raws.forEach((raw, i) => assert.ok(sameDisk(raw, "raw", join(out, `${stem}-disk${i + 1}.${to}`), to), `disk ${i}`));
    return JSON.parse(readFileSync(join(out, `${stem}.ovf.json`), "utf8"));
  }

  it("converts each disk into OUT_DIR and describes the machine in <stem>.ovf.json", () => {
    const out = outDir();
    const run = diskpipe(["convert", ova, out, "--to", "qcow2"]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(
      run.stdout,
      /converted .*web-01\.ova -> .*web-01-disk1\.qcow2, .*web-01-disk2\.qcow2 and .*web-01\.ovf\.json \(vmdk,vmdk -> qcow2, 4 MiB virtual/,
    );
    const description = assertConverted(out, "web-01", "qcow2");
    const { disks: _disks, ...machine } = description;
    assert.deepEqual(machine, { ...VMWARE_MACHINE, manifest: "verified", certificate: "absent" });
    const disks = description.disks as Array<Record<string, unknown>>;
    assert.deepEqual(
      disks.map(({ id, capacity, controller, address, file, format, virtualSize }) => ({
        id,
        capacity,
        controller,
        address,
        file,
        format,
        virtualSize,
      })),
      [
        {
          id: "vmdisk1",
          capacity: 3 * MiB,
          controller: { kind: "scsi", subtype: "lsilogic" },
          address: "0",
          file: "web-01-disk1.qcow2",
          format: "qcow2",
          virtualSize: 3 * MiB,
        },
        {
          id: "vmdisk2",
          capacity: 1 * MiB,
          controller: { kind: "scsi", subtype: "lsilogic" },
          address: "1",
          file: "web-01-disk2.qcow2",
          format: "qcow2",
          virtualSize: 1 * MiB,
        },
      ],
    );
  });

  it("with --out-dir and --json: the outputs in the result, named after the source", () => {
    const out = outDir();
    const run = diskpipe(["convert", ova, "--out-dir", out, "--to", "vdi", "--json"]);
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.equal(result.ok, true);
    assert.equal(result.destination, out);
    assert.deepEqual(
      result.outputs.map((o: { path: string; virtualSize: number }) => [o.path, o.virtualSize]),
      [
        [join(out, "web-01-disk1.vdi"), 3 * MiB],
        [join(out, "web-01-disk2.vdi"), 1 * MiB],
      ],
    );
    assert.equal(result.description, join(out, "web-01.ovf.json"));
    assertConverted(out, "web-01", "vdi");
  });

  it("from an HTTP URL, and with the container claimed", async () => {
    const out = outDir();
    const run = await diskpipeAsync(["convert", server.url("/web-01.ova"), out, "--to", "raw", "--container", "ova"]);
    assert.equal(run.status, 0, run.stderr);
    assertConverted(out, "web-01", "raw");
  });

  it("convert --help shows an OVA example and the ova container", () => {
    const run = diskpipe(["convert", "--help"]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /diskpipe convert web\.ova out\/ --to qcow2 +\(each disk to out\/web-disk<N>\.qcow2/);
    assert.match(run.stdout.replace(/\s+/g, " "), /ova \(an appliance: its disks become <stem>-disk<N>\.<ext>/);
  });

  it("inspect names the container", () => {
    const run = diskpipe(["inspect", ova, "--json"]);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).format, "ova");
  });
});
