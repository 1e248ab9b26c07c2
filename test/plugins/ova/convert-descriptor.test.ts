import assert from "node:assert/strict";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { diskpipe } from "../../helpers/cli.ts";
import { sameDisk, tempDir } from "../../helpers/images.ts";
import { applianceMembers, twoVmdks } from "./archive.ts";

const MiB = 2 ** 20;

describe("diskpipe convert of a plain .ovf (the built CLI)", () => {
  const { dir, cleanup } = tempDir("diskpipe-ovf-convert-");
  let raws: string[] = [];
  let ovf = "";
  before(() => {
    const vmdks = twoVmdks(dir);
    raws = vmdks.map((v) => v.raw);
    const vm = join(dir, "vm");
    mkdirSync(vm);
    const members = applianceMembers(
      vmdks.map((v, i) => ({
        href: `app-${i + 1}.vmdk`,
        capacityGiB: 0,
        capacityBytes: (i ? 1 : 3) * MiB,
        data: v.vmdk,
      })),
    );
    // Without the manifest (it lists the descriptor as vm.ovf): a plain .ovf needs none.
    for (const { name, data } of members.filter((m) => m.name !== "vm.mf"))
      writeFileSync(join(vm, name.replace("vm.", "app.")), data ?? "");
    ovf = join(vm, "app.ovf");
  });
  after(cleanup);

  it("with --ovf-files, converts the disks beside it; without, says so in one line (exit 3)", () => {
    const refused = join(dir, "refused");
    mkdirSync(refused);
    const without = diskpipe(["convert", ovf, refused, "--to", "qcow2"]);
    assert.equal(without.status, 3, without.stderr);
    const errors = without.stderr.split("\n").filter((line) => line.startsWith("diskpipe:"));
    assert.equal(errors.length, 1, without.stderr);
    assert.match(errors[0] ?? "", /--ovf-files.*\[ovf-files\]/);
    assert.deepEqual(readdirSync(refused), []);

    const out = join(dir, "out");
    mkdirSync(out);
    const run = diskpipe(["convert", ovf, out, "--to", "qcow2", "--ovf-files"]);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(readdirSync(out).sort(), ["app-disk1.qcow2", "app-disk2.qcow2", "app.ovf.json"]);
    raws.forEach((raw, i) => assert.ok(sameDisk(raw, "raw", join(out, `app-disk${i + 1}.qcow2`), "qcow2")));
  });

  it("names --ovf-files in convert --help", () => {
    const run = diskpipe(["convert", "--help"]);
    assert.match(run.stdout, /--ovf-files/);
  });
});
