import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPipeline } from "../../../src/create-pipeline.ts";
import { TestServer } from "../../core/io/server.ts";
import { diskpipe } from "../../helpers/cli.ts";
import { failure } from "../../helpers/failure.ts";
import { sameDisk, tempDir } from "../../helpers/images.ts";
import { applianceMembers, manifestOf, twoVmdks, type Member, writeBeside } from "./archive.ts";

const MiB = 2 ** 20;

/** The bytes with the last one changed. */
function flipped(data: Buffer): Buffer {
  const copy = Buffer.from(data);
  copy[copy.length - 1] ^= 1;
  return copy;
}

/** Attacks on a plain .ovf read with --ovf-files: names, links, counts, sizes, a URL, inspect. About 4 s. */
describe("attacks on a plain .ovf and the files beside it", () => {
  const { dir, cleanup } = tempDir("diskpipe-ovf-attacks-");
  const work = join(dir, "work");
  const pipeline = createPipeline({ workDir: work });
  let raws: string[] = [];
  let disks: Array<{ href: string; capacityGiB: number; capacityBytes: number; data: Buffer }> = [];
  let count = 0;
  const out = () => {
    const path = join(dir, `out${++count}`);
    mkdirSync(path);
    return path;
  };
  const jobDirs = () => (existsSync(join(work, "diskpipe")) ? readdirSync(join(work, "diskpipe")) : []);
  const run = (source: string, destination: string) =>
    pipeline.run({ source, destination, to: "raw", options: { ovfFiles: true } });
  const refused = async (source: string, code: string, problem: string, pattern: RegExp) => {
    const destination = out();
    const error = await failure(run(source, destination));
    assert.equal(error.code, code, error.message);
    assert.deepEqual(
      error.problems.map((p) => p.code),
      [problem],
    );
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes("\n"), error.message);
    assert.deepEqual(readdirSync(destination), []);
    assert.deepEqual(jobDirs(), []);
  };

  before(() => {
    const vmdks = twoVmdks(dir);
    raws = vmdks.map((v) => v.raw);
    disks = [{ href: "web-1.vmdk", capacityGiB: 0, capacityBytes: 3 * MiB, data: vmdks[0].vmdk }];
  });
  after(cleanup);

  it("through a link, checks the manifest beside the descriptor itself: a changed disk is checksum-mismatch", async () => {
    writeBeside(join(dir, "same-link"), applianceMembers(disks));
    writeFileSync(join(dir, "same-link", "web-1.vmdk"), flipped(disks[0].data));
    symlinkSync("vm.ovf", join(dir, "same-link", "latest.ovf"));
    await refused(
      join(dir, "same-link", "latest.ovf"),
      "checksum-mismatch",
      "checksum-mismatch",
      /"web-1\.vmdk" does not match its digest/,
    );
  });

  it("through a link from another directory, reads the files beside the descriptor itself", async () => {
    writeBeside(join(dir, "far"), applianceMembers(disks));
    mkdirSync(join(dir, "elsewhere"));
    symlinkSync(join(dir, "far", "vm.ovf"), join(dir, "elsewhere", "export.ovf"));
    const destination = out();
    await run(join(dir, "elsewhere", "export.ovf"), destination);
    const [output] = readdirSync(destination).filter((name) => name.endsWith(".raw"));
    assert.ok(output && sameDisk(raws[0] ?? "", "raw", join(destination, output), "raw"));
    assert.deepEqual(jobDirs(), []);
  });

  it("refuses a descriptor naming itself, its manifest, its certificate or one file twice", async () => {
    for (const href of ["vm.ovf", "vm.mf", "vm.cert"]) {
      const folder = join(dir, `names-${href}`);
      const members = applianceMembers(disks, (ovf) => ovf.replace('ovf:href="web-1.vmdk"', `ovf:href="${href}"`));
      writeBeside(
        folder,
        members.filter((m) => m.name !== "web-1.vmdk"),
      );
      if (href === "vm.cert") writeFileSync(join(folder, href), "not a certificate");
      await refused(join(folder, "vm.ovf"), "image-rejected", "archive-entry", new RegExp(`"${href}" appears twice`));
    }
    const twice = applianceMembers([disks[0], { ...disks[0] }].map((d, i) => ({ ...d, capacityBytes: (i + 3) * MiB })));
    const folder = join(dir, "twice");
    writeBeside(folder, twice.slice(0, 3));
    await refused(join(folder, "vm.ovf"), "image-rejected", "ova-descriptor-invalid", /two files name the same member/);
  });

  it("takes a 255-byte name, and refuses in one line a chunked one whose chunk names cannot exist", async () => {
    const long = `${"a".repeat(250)}.vmdk`;
    const plain = applianceMembers([{ ...disks[0], href: long }]);
    const destination = out();
    await run(writeBeside(join(dir, "long-plain"), plain), destination);
    assert.ok(sameDisk(raws[0] ?? "", "raw", join(destination, "vm-disk1.raw"), "raw"));
    const whole = disks[0].data;
    const chunked = applianceMembers([{ ...disks[0], href: long, size: whole.length }], (ovf) =>
      ovf.replace(`ovf:href="${long}"`, `ovf:href="${long}" ovf:chunkSize="${whole.length}"`),
    );
    const source = writeBeside(join(dir, "long-chunked"), [chunked[0]]);
    await refused(source, "image-rejected", "archive-entry", /is longer than a file name beside it can be/);
  });

  it("refuses more chunks than an appliance may have members before opening any, and ignores chunks past the size", async () => {
    const many = applianceMembers([{ ...disks[0], href: "many.vmdk", size: 512 * 5000 }], (ovf) =>
      ovf.replace('ovf:href="many.vmdk"', 'ovf:href="many.vmdk" ovf:chunkSize="512"'),
    );
    // Not one chunk file exists: the count alone is refused.
    const source = writeBeside(join(dir, "many"), [many[0]]);
    await refused(
      source,
      "image-rejected",
      "archive-entry",
      /names 5000 files and chunks: with it, more than the 4096/,
    );

    const whole = disks[0].data;
    const half = Math.ceil(whole.length / 2);
    const chunked = applianceMembers([{ ...disks[0], size: whole.length }], (ovf) =>
      ovf.replace('ovf:href="web-1.vmdk"', `ovf:href="web-1.vmdk" ovf:chunkSize="${half}"`),
    );
    const folder = join(dir, "stale-chunk");
    writeBeside(folder, [chunked[0]]);
    [whole.subarray(0, half), whole.subarray(half), Buffer.from("a stale chunk of an older export")].forEach(
      (data, i) => writeFileSync(join(folder, `web-1.vmdk.00000000${i}`), data),
    );
    const destination = out();
    await run(join(folder, "vm.ovf"), destination);
    assert.ok(sameDisk(raws[0] ?? "", "raw", join(destination, "vm-disk1.raw"), "raw"));
  });

  it("refuses a manifest beside it that lists a file the descriptor does not name", async () => {
    const members = applianceMembers(disks);
    const extra = { name: "secret.txt", data: Buffer.from("secret") };
    const manifest = { name: "vm.mf", data: manifestOf([members[0], ...members.slice(2), extra]) };
    const source = writeBeside(join(dir, "extra"), [members[0], manifest, ...members.slice(2), extra]);
    await refused(source, "image-rejected", "archive-entry", /"secret\.txt" is listed in the manifest but absent/);
  });

  it("reads names with unicode and bidi characters as bytes, and escapes them in errors", async () => {
    for (const href of ["диск.vmdk", "disk\u202etxt.vmdk", "disk\u0085.vmdk"]) {
      const destination = out();
      await run(writeBeside(join(dir, `names-${count}`), applianceMembers([{ ...disks[0], href }])), destination);
      assert.ok(sameDisk(raws[0] ?? "", "raw", join(destination, "vm-disk1.raw"), "raw"));
    }
    const absent = applianceMembers([{ ...disks[0], href: "disk\u202etxt.vmdk" }]);
    const source = writeBeside(join(dir, "bidi-absent"), absent.slice(0, 2));
    await refused(source, "image-rejected", "archive-entry", /"disk\\u202etxt\.vmdk", which the descriptor names/);
  });

  it("refuses a descriptor over 1 MiB before reading it", async () => {
    const members = applianceMembers(disks, (ovf) =>
      ovf.replace("</Envelope>", `<!-- ${"x".repeat(MiB)} --></Envelope>`),
    );
    await refused(writeBeside(join(dir, "big"), members), "image-rejected", "archive-entry", /larger than 1048576/);
  });
  it("reads a descriptor of exactly 1 MiB", async () => {
    const members = applianceMembers(disks, (ovf) =>
      ovf.replace("</Envelope>", `<!-- ${"x".repeat(MiB - Buffer.byteLength(ovf) - 9)} --></Envelope>`),
    );
    assert.equal(members[0]?.data?.length, MiB);
    const destination = out();
    await run(writeBeside(join(dir, "at-bound"), members), destination);
    assert.ok(sameDisk(raws[0], "raw", join(destination, "vm-disk1.raw"), "raw"));
  });

  it("refuses a descriptor from a URL even with ovfFiles, reading nothing beside anything", async () => {
    const folder = join(dir, "served");
    const members = applianceMembers(disks);
    writeBeside(folder, members);
    const server = await new TestServer().start();
    try {
      server.routes.set("/vm.ovf", { file: join(folder, "vm.ovf") });
      server.routes.set("/web-1.vmdk", { file: join(folder, "web-1.vmdk") });
      await refused(server.url("/vm.ovf"), "image-rejected", "ovf-files", /only from a local path/);
      assert.deepEqual(
        server.seen.map((seen) => seen.path),
        ["/vm.ovf"],
      );
    } finally {
      await server.stop();
    }
  });

  it("inspect names a descriptor without opening the files it names (one is a FIFO)", () => {
    const folder = join(dir, "inspect");
    writeBeside(
      folder,
      applianceMembers(disks).filter((m) => m.name !== "web-1.vmdk"),
    );
    execFileSync("mkfifo", [join(folder, "web-1.vmdk")]);
    const run = diskpipe(["inspect", "--json", join(folder, "vm.ovf")]);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).format, "ovf-descriptor");
  });
  it("leaves no file beside any descriptor open, whatever refused it", () => {
    const open = readdirSync("/proc/self/fd").flatMap((fd) => {
      try {
        return [readlinkSync(`/proc/self/fd/${fd}`)];
      } catch {
        return [];
      }
    });
    assert.deepEqual(
      open.filter((path) => path.startsWith(dir)),
      [],
    );
  });
});
