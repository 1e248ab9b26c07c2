import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { diskpipe } from "../../helpers/cli.ts";
import { makeDataImage, makeImage, sameDisk, tempDir } from "../../helpers/images.ts";
import { applianceMembers, twoVmdks, writeTar } from "./archive.ts";
import { writeSlowConfig } from "../../helpers/slow-config.ts";

const MiB = 1024 * 1024;

describe("diskpipe convert vm.ova: where the outputs go", () => {
  const { dir, cleanup } = tempDir("diskpipe-ova-race-");
  const work = join(dir, "work");
  const out = join(dir, "out");
  const config = join(dir, "slow.config.mjs");
  let disks: Array<{ raw: string; vmdk: Buffer }> = [];
  let archive = "";
  let image = "";

  before(async () => {
    mkdirSync(out);
    disks = twoVmdks(dir);
    const listed = disks.map((d, i) => ({
      href: `vm-disk${i + 1}.vmdk`,
      capacityGiB: 0,
      capacityBytes: (i === 0 ? 3 : 1) * MiB,
      data: d.vmdk,
    }));
    archive = await writeTar(join(dir, "vm.ova"), applianceMembers(listed));
    // 16 MiB of data at 4 MiB/s: the image's output is committed seconds after the appliance's.
    image = makeImage(makeDataImage(join(dir, "single.raw"), 16 * MiB, 4), "vmdk", join(dir, "vm-disk1.vmdk"));
    writeSlowConfig(config, { workDir: work, mibPerSecond: 4 });
  });
  after(cleanup);

  it("vm.ova and vm-disk1.vmdk in one --out-dir batch: the appliance's vm-disk1.qcow2 is not replaced, the image's job fails (usage)", () => {
    const run = diskpipe(["--config", config, "convert", image, archive, "--out-dir", out, "--to", "qcow2", "-j", "2"]);
    assert.equal(run.status, 2, run.stderr + run.stdout);
    assert.match(run.stderr, /vm-disk1\.qcow2 (appeared while converting|already exists).*\[usage\]/);
    assert.match(run.stdout, /converted .*vm\.ova -> /);
    assert.deepEqual(readdirSync(out).sort(), ["vm-disk1.qcow2", "vm-disk2.qcow2", "vm.ovf.json"]);
    assert.ok(sameDisk(disks[0]!.raw, "raw", join(out, "vm-disk1.qcow2"), "qcow2"), "disk 1 was replaced");
    const description = JSON.parse(readFileSync(join(out, "vm.ovf.json"), "utf8")) as {
      disks: Array<{ file: string; virtualSize: number }>;
    };
    assert.deepEqual(
      description.disks.map((d) => [d.file, d.virtualSize]),
      [
        ["vm-disk1.qcow2", 3 * MiB],
        ["vm-disk2.qcow2", MiB],
      ],
    );
    assert.deepEqual(readdirSync(join(work, "diskpipe")), []);
  });

  it("a destination that is a link to a directory: the outputs go into that directory, as with a trailing slash", () => {
    const real = join(dir, "real");
    mkdirSync(real);
    symlinkSync(real, join(dir, "linked"));
    const run = diskpipe(["--config", config, "convert", archive, join(dir, "linked"), "--to", "qcow2"]);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(readdirSync(real).sort(), ["vm-disk1.qcow2", "vm-disk2.qcow2", "vm.ovf.json"]);
    assert.deepEqual(
      readdirSync(dir).filter((name) => name.startsWith("linked")),
      ["linked"],
    );
  });

  it("--force with the description's name taken by a directory: usage before converting, the existing disk file kept", () => {
    const into = join(dir, "forced");
    mkdirSync(join(into, "vm.ovf.json"), { recursive: true });
    writeFileSync(join(into, "vm-disk1.qcow2"), "old\n");
    const run = diskpipe(["--config", config, "convert", archive, into, "--to", "qcow2", "--force"]);
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /vm\.ovf\.json is not a regular file \[usage\]/);
    assert.doesNotMatch(run.stderr, /: convert/);
    assert.deepEqual(readdirSync(into).sort(), ["vm-disk1.qcow2", "vm.ovf.json"]);
    assert.equal(readFileSync(join(into, "vm-disk1.qcow2"), "utf8"), "old\n");
  });
});
