import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { createServer } from "node:net";
import { registerFormats } from "../../../src/core/inspector.ts";
import { createJobContext } from "../../../src/core/job-context.ts";
import { QemuImg } from "../../../src/core/qemu-img.ts";
import { createPipeline } from "../../../src/create-pipeline.ts";
import { unpackOvfDescriptor } from "../../../src/plugins/ova/unpack-descriptor.ts";
import { failure } from "../../helpers/failure.ts";
import { sameDisk, tempDir } from "../../helpers/images.ts";
import { applianceMembers, manifestOf, twoVmdks, type Member, writeBeside } from "./archive.ts";

const MiB = 2 ** 20;

describe("a plain .ovf with its files beside it", () => {
  const { dir, cleanup } = tempDir("diskpipe-ovf-beside-");
  const work = join(dir, "work");
  const pipeline = createPipeline({ workDir: work });
  let raws: string[] = [];
  let disks: Array<{ href: string; capacityGiB: number; capacityBytes: number; data: Buffer; gzip?: boolean }> = [];
  let count = 0;
  const out = () => {
    const path = join(dir, `out${++count}`);
    mkdirSync(path);
    return path;
  };
  const jobDirs = () => (existsSync(join(work, "diskpipe")) ? readdirSync(join(work, "diskpipe")) : []);
  const run = (source: string, destination: string, ovfFiles = true) =>
    pipeline.run({ source, destination, to: "raw", ...(ovfFiles && { options: { ovfFiles: true } }) });
  /** Runs `source`, which must be refused with `code` (and problem `problem`), leaving nothing. */
  const refused = async (source: string, code: string, problem: string, pattern: RegExp) => {
    const destination = out();
    const error = await failure(run(source, destination));
    assert.equal(error.code, code, error.message);
    assert.deepEqual(
      error.problems.map((p) => p.code),
      [problem],
    );
    assert.match(error.message, pattern);
    assert.deepEqual(readdirSync(destination), []);
    assert.deepEqual(jobDirs(), []);
  };

  before(() => {
    const vmdks = twoVmdks(dir);
    raws = vmdks.map((v) => v.raw);
    disks = [
      { href: "web-1.vmdk", capacityGiB: 0, capacityBytes: 3 * MiB, data: vmdks[0].vmdk },
      { href: "web-2.vmdk", capacityGiB: 0, capacityBytes: MiB, gzip: true, data: gzipSync(vmdks[1].vmdk) },
    ];
  });
  after(cleanup);

  it("converts each disk and describes the machine, as from an OVA (manifest checked)", async () => {
    const source = writeBeside(join(dir, "ok"), applianceMembers(disks));
    const destination = out();
    const result = await run(source, destination);
    assert.deepEqual(readdirSync(destination).sort(), ["vm-disk1.raw", "vm-disk2.raw", "vm.ovf.json"]);
    raws.forEach((raw, i) => assert.ok(sameDisk(raw, "raw", join(destination, `vm-disk${i + 1}.raw`), "raw")));
    const description = JSON.parse(readFileSync(join(destination, "vm.ovf.json"), "utf8"));
    assert.equal(description.manifest, "verified");
    assert.equal(result.outputs?.length, 2);
    assert.deepEqual(jobDirs(), []);
  });

  it("is refused unless the job asks for the files beside it, none of them read", async () => {
    const source = writeBeside(join(dir, "unasked"), applianceMembers(disks));
    const destination = out();
    const error = await failure(run(source, destination, false));
    assert.equal(error.code, "image-rejected");
    assert.deepEqual(
      error.problems.map((p) => p.code),
      ["ovf-files"],
    );
    assert.match(error.message, /--ovf-files/);
    assert.deepEqual(readdirSync(destination), []);
  });

  it("refuses a named file that is a symbolic link, even to a good disk", async () => {
    const members = applianceMembers(disks);
    const source = writeBeside(join(dir, "link"), members.slice(0, 2));
    writeFileSync(join(dir, "link", "real.vmdk"), disks[0].data);
    symlinkSync(join(dir, "link", "real.vmdk"), join(dir, "link", "web-1.vmdk"));
    writeFileSync(join(dir, "link", "web-2.vmdk"), disks[1].data);
    await refused(source, "image-rejected", "archive-entry", /"web-1\.vmdk" beside the descriptor is a symbolic link/);
  });

  it("refuses a named file that is a FIFO at once, without waiting on it", async () => {
    const source = writeBeside(
      join(dir, "fifo"),
      applianceMembers(disks).filter((m) => m.name !== "web-2.vmdk"),
    );
    execFileSync("mkfifo", [join(dir, "fifo", "web-2.vmdk")]);
    await refused(
      source,
      "image-rejected",
      "archive-entry",
      /"web-2\.vmdk" beside the descriptor is not a regular file/,
    );
  });

  it("refuses a named file that is a socket, in one line, leaving nothing", async () => {
    const folder = join(dir, "socket");
    const source = writeBeside(
      folder,
      applianceMembers(disks).filter((m) => m.name !== "web-2.vmdk"),
    );
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(folder, "web-2.vmdk"), resolve));
    try {
      await refused(
        source,
        "image-rejected",
        "archive-entry",
        /^[^\n]*"web-2\.vmdk" beside the descriptor is not a regular file[^\n]*$/,
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("names a job without a fetched descriptor as the plugin's failure", async () => {
    const job = await createJobContext({
      spec: { source: join(dir, "never.ovf"), destination: out(), to: "raw", options: { ovfFiles: true } },
      workRoot: join(dir, "unit-work"),
      qemu: new QemuImg(),
      formats: registerFormats([]).formats,
      emit: () => {},
    });
    try {
      const error = await failure(unpackOvfDescriptor(job, {}));
      assert.equal(error.code, "plugin-failed");
      assert.equal(error.message, "ova: no fetched descriptor to read");
    } finally {
      await job.runCleanups();
    }
  });

  it("refuses a named file that is absent, or a directory", async () => {
    const absent = writeBeside(
      join(dir, "absent"),
      applianceMembers(disks).filter((m) => m.name !== "web-2.vmdk"),
    );
    await refused(
      absent,
      "image-rejected",
      "archive-entry",
      /"web-2\.vmdk", which the descriptor names, is not beside it/,
    );
    const directory = writeBeside(
      join(dir, "directory"),
      applianceMembers(disks).filter((m) => m.name !== "web-1.vmdk"),
    );
    mkdirSync(join(dir, "directory", "web-1.vmdk"));
    await refused(
      directory,
      "image-rejected",
      "archive-entry",
      /"web-1\.vmdk" beside the descriptor is not a regular file/,
    );
  });

  it("refuses an href that leaves the directory, before any file is opened", async () => {
    const members = applianceMembers(disks, (ovf) =>
      ovf.replace('ovf:href="web-1.vmdk"', 'ovf:href="../ok/web-1.vmdk"'),
    );
    const source = writeBeside(join(dir, "escape"), members);
    await refused(source, "image-rejected", "ova-href-unsafe", /\.\.\/ok\/web-1\.vmdk/);
  });

  it("checks the manifest beside it: a disk changed after it was signed is checksum-mismatch", async () => {
    const source = writeBeside(join(dir, "changed"), applianceMembers(disks));
    const changed = Buffer.from(disks[0].data);
    changed[changed.length - 1] ^= 1;
    writeFileSync(join(dir, "changed", "web-1.vmdk"), changed);
    await refused(source, "checksum-mismatch", "checksum-mismatch", /"web-1\.vmdk" does not match its digest/);
  });

  it("reads a chunked disk from its chunk files", async () => {
    const whole = disks[0].data;
    const half = Math.ceil(whole.length / 2);
    const chunked = [{ ...disks[0], gzip: false, size: whole.length }];
    const members = applianceMembers(chunked, (ovf) =>
      ovf.replace('ovf:href="web-1.vmdk"', `ovf:href="web-1.vmdk" ovf:chunkSize="${half}"`),
    );
    const parts = [whole.subarray(0, half), whole.subarray(half)].map((data, i) => ({
      name: `web-1.vmdk.00000000${i}`,
      data: Buffer.from(data),
    }));
    // The manifest lists the chunks, as ovftool writes it.
    const source = writeBeside(join(dir, "chunked"), [
      members[0],
      { name: "vm.mf", data: manifestOf([members[0], ...parts]) },
      ...parts,
    ]);
    const destination = out();
    await run(source, destination);
    assert.ok(sameDisk(raws[0], "raw", join(destination, "vm-disk1.raw"), "raw"));
  });
});
