import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { diskpipe, type CliRun } from "../../helpers/cli.ts";
import { makeRaw, qemuImg, sameDisk, tempDir } from "../../helpers/images.ts";
import { applianceMembers, manifestOf, twoVmdks, writeTar, type Member } from "./archive.ts";

const MiB = 1024 * 1024;

/** What a refused conversion must answer: exit status, error code, and a problem code when the error lists some. */
interface Refusal {
  status: number;
  code: string;
  problem?: string;
  message?: RegExp;
}

describe("diskpipe convert X.ova OUT --to qcow2 against hostile appliances: refused, nothing left", () => {
  const { dir, cleanup } = tempDir("diskpipe-ova-convert-");
  const work = join(dir, "work");
  const cwd = join(dir, "cwd");
  const config = join(dir, "work.config.mjs");
  let disks: Array<{ raw: string; vmdk: Buffer }> = [];
  let count = 0;

  before(() => {
    mkdirSync(cwd);
    writeFileSync(config, `export default { workDir: ${JSON.stringify(work)} };\n`);
    disks = twoVmdks(dir);
  });
  after(cleanup);

  /** The valid appliance (disks of 3 MiB and 1 MiB), its descriptor edited by `edit` before the manifest is made. */
  function members(edit?: (ovf: string) => string, capacities = [3 * MiB, MiB]): Member[] {
    const listed = disks.map((d, i) => ({
      href: `vm-disk${i + 1}.vmdk`,
      capacityGiB: 0,
      capacityBytes: capacities[i] ?? MiB,
      data: d.vmdk,
    }));
    return applianceMembers(listed, edit);
  }

  /** Each entry of `path` (hidden ones too) with a digest of its bytes: what a refusal must leave as it was. */
  function state(path: string): Record<string, string> {
    const entries = readdirSync(path, { withFileTypes: true }).map((e) => {
      const file = join(path, e.name);
      return [
        e.name,
        e.isFile() ? createHash("sha256").update(readFileSync(file)).digest("hex") : e.isDirectory() ? "dir" : "other",
      ];
    });
    return Object.fromEntries(entries);
  }

  /** What the job left in the work root (`<workDir>/diskpipe`). */
  const leftInWork = () => (existsSync(join(work, "diskpipe")) ? readdirSync(join(work, "diskpipe")) : []);

  /** Writes `archive` as `vm.ova` in a fresh folder, beside an empty output directory. */
  async function place(archive: Member[] | Buffer): Promise<{ name: string; out: string }> {
    const folder = join(dir, `case-${++count}`);
    const name = join(folder, "vm.ova");
    mkdirSync(join(folder, "out"), { recursive: true });
    if (Buffer.isBuffer(archive)) writeFileSync(name, archive);
    else await writeTar(name, archive);
    return { name, out: join(folder, "out") };
  }

  /**
   * Converts `archive` (members, written as a tar, or the bytes of one) into a fresh directory
   * (prepared by `setup`) twice, with and without `--json`; both must be refused as `expected`
   * with the directory, the work root and the working directory as they were.
   */
  async function refused(
    archive: Member[] | Buffer,
    expected: Refusal,
    options: { setup?: (out: string) => void; args?: string[]; destination?: (out: string) => string } = {},
  ): Promise<{ json: CliRun; plain: CliRun }> {
    const { name, out } = await place(archive);
    options.setup?.(out);
    const before = state(out);
    const args = [
      "--config",
      config,
      "convert",
      name,
      options.destination?.(out) ?? out,
      "--to",
      "qcow2",
      ...(options.args ?? []),
    ];
    const json = diskpipe([...args, "--json"], { cwd });
    const plain = diskpipe(args, { cwd });
    for (const run of [json, plain]) {
      assert.equal(run.status, expected.status, run.stderr + run.stdout);
      assert.doesNotMatch(run.stderr, /^\s+at /m, "no stack trace");
      assert.deepEqual(state(out), before, "the output directory changed");
      assert.deepEqual(leftInWork(), [], "the job left files in the work root");
      assert.deepEqual(readdirSync(cwd), [], "something was written in the working directory");
    }
    const { error } = JSON.parse(json.stdout) as {
      error: { code: string; message: string; problems?: Array<{ code: string }> };
    };
    assert.equal(error.code, expected.code, json.stdout);
    if (expected.problem)
      assert.ok(
        error.problems?.some((p) => p.code === expected.problem),
        json.stdout,
      );
    if (expected.message) assert.match(error.message, expected.message);
    const lines = plain.stderr.split("\n").filter((line) => line.startsWith("diskpipe: "));
    assert.equal(lines.length, 1, plain.stderr);
    assert.ok(lines[0]?.endsWith(` [${expected.code}]`), plain.stderr);
    assert.equal(lines[0]?.split(`[${expected.code}]`).length, 2, `the code is said once: ${plain.stderr}`);
    if (expected.problem)
      assert.ok(lines[0]?.includes(`[${expected.problem}]`), `the problem is named: ${plain.stderr}`);
    return { json, plain };
  }

  it("1. a wrong manifest digest for disk 2: checksum-mismatch, exit 3", async () => {
    const [ovf, , d1, d2] = members();
    const tampered = Buffer.from(d2!.data!);
    tampered[tampered.length - 700]! ^= 1;
    const mf = { name: "vm.mf", data: manifestOf([ovf!, d1!, d2!]) };
    await refused([ovf!, mf, d1!, { ...d2!, data: tampered }], {
      status: 3,
      code: "checksum-mismatch",
      message: /"vm-disk2\.vmdk" does not match its digest/,
    });
  });

  it("2. an href with a directory, '..' or a URL: ova-href-unsafe, exit 3", async () => {
    for (const href of ["../x.vmdk", "sub/x.vmdk", "http://127.0.0.1:1/x.vmdk", "/etc/passwd"]) {
      const edit = (ovf: string) => ovf.replace('ovf:href="vm-disk2.vmdk"', `ovf:href="${href}"`);
      await refused(members(edit), { status: 3, code: "image-rejected", problem: "ova-href-unsafe" });
    }
  });

  it("3. an entity bomb or an external entity in the descriptor: ova-descriptor-invalid, exit 3, nothing of /etc/passwd shown", async () => {
    const laughs = Array.from({ length: 9 }, (_, i) => `<!ENTITY l${i + 1} "${`&l${i};`.repeat(10)}">`).join("");
    const doctypes = [
      `<!DOCTYPE Envelope [<!ENTITY l0 "lol">${laughs}]>`,
      '<!DOCTYPE Envelope [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
      '<!DOCTYPE Envelope SYSTEM "file:///etc/passwd">',
    ];
    for (const doctype of doctypes) {
      const edit = (ovf: string) =>
        ovf.replace("?>\n", `?>\n${doctype}\n`).replace("<Name>web-01 &amp; co</Name>", "<Name>&l9;&x;</Name>");
      const { json, plain } = await refused(members(edit), {
        status: 3,
        code: "image-rejected",
        problem: "ova-descriptor-invalid",
        message: /declares a document type/,
      });
      assert.doesNotMatch(json.stdout + json.stderr + plain.stdout + plain.stderr, /root:.*:0:0:/);
    }
  });

  it("4. a qcow2 with a backing file as disk 2 (ovf:format vmdk, absent, qcow2), a VMDK naming a host extent: exit 3", async () => {
    const host = makeRaw(join(dir, "host-secret.raw"), MiB, 9);
    const evil = join(dir, "evil.qcow2");
    qemuImg("create", "-q", "-f", "qcow2", "-b", host, "-F", "raw", evil, String(MiB));
    const qcow2 = "http://www.gnome.org/~markmc/qcow-image-format.html";
    const mismatch = { status: 3, code: "format-mismatch", problem: "format-mismatch" };
    const variants = [
      { edit: (ovf: string) => ovf, expected: mismatch },
      { edit: (ovf: string) => ovf.replace(/ ovf:format="[^"]*"/g, ""), expected: mismatch },
      {
        edit: (ovf: string) => ovf.replace(/(fileRef="file2") ovf:format="[^"]*"/, `$1 ovf:format="${qcow2}"`),
        expected: { status: 3, code: "image-rejected", problem: "qcow2-backing-file" },
      },
    ];
    for (const { edit, expected } of variants) {
      const [ovf, , d1, d2] = members(edit);
      const swapped = { ...d2!, data: readFileSync(evil) };
      const archive = [ovf!, { name: "vm.mf", data: manifestOf([ovf!, d1!, swapped]) }, d1!, swapped];
      const { json, plain } = await refused(archive, expected);
      assert.match(plain.stderr, /backing file/i);
      assert.match(json.stdout, /"code":"qcow2-backing-file"/, "the backing file is a problem of its own");
    }
    const extent = `# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\nRW 2048 FLAT "/etc/passwd" 0\n`;
    const [ovf, , d1, d2] = members();
    const text = { ...d2!, data: Buffer.from(extent) };
    const archive = [ovf!, { name: "vm.mf", data: manifestOf([ovf!, d1!, text]) }, d1!, text];
    const { json } = await refused(archive, { status: 3, code: "image-rejected", problem: "vmdk-extent-file" });
    assert.doesNotMatch(json.stdout, /root:.*:0:0:/);
  });

  it("5. a disk whose header disagrees with its declared capacity: format-mismatch, exit 3, disk 1 not kept", async () => {
    await refused(members(undefined, [3 * MiB, 2 * MiB]), {
      status: 3,
      code: "format-mismatch",
      problem: "format-mismatch",
      message: /disk 2 is declared as 2097152 bytes but its vmdk header says 1048576/,
    });
  });

  it("6. a link, a directory, a repeated member, a second .ovf, an unlisted member, members or bytes after the end: archive-entry", async () => {
    const [ovf, mf, d1, d2] = members();
    const x = Buffer.from("x");
    const whole = readFileSync(await writeTar(join(dir, "whole.tar"), [ovf!, mf!, d1!, d2!]));
    const tail = readFileSync(await writeTar(join(dir, "tail.tar"), [{ name: "after.bin", data: x }]));
    const cases: Array<[Member[] | Buffer, RegExp]> = [
      [
        [ovf!, mf!, d1!, { name: "vm-disk2.vmdk", type: "symlink", linkname: "/etc/passwd" }],
        /is a symlink, not a regular file/,
      ],
      [[ovf!, mf!, { name: "vm-disk1.vmdk", type: "directory" }, d2!], /is a directory, not a regular file/],
      [[ovf!, mf!, d1!, d2!, d2!], /"vm-disk2\.vmdk" appears twice/],
      [
        [ovf!, mf!, d1!, { name: "other.ovf", data: ovf!.data! }, d2!],
        /"other\.ovf" is not a file the descriptor references/,
      ],
      [[ovf!, mf!, d1!, d2!, { name: "extra.bin", data: x }], /"extra\.bin" is not a file the descriptor references/],
      [[ovf!, mf!, d1!, d2!, { ...mf!, name: "late.mf" }], /must follow the descriptor, before the files/],
      [Buffer.concat([whole, tail]), /"after\.bin" is not a file the descriptor references/],
      [Buffer.concat([whole, Buffer.alloc(1536, 0x41)]), /not a valid tar archive/],
    ];
    for (const [archive, message] of cases)
      await refused(archive, { status: 3, code: "image-rejected", problem: "archive-entry", message });
  });

  it("7. an archive cut in the middle of disk 2: truncated, exit 3", async () => {
    const list = members();
    const whole = readFileSync(await writeTar(join(dir, "cut.tar"), list));
    const disk2 = list[3]!.data!;
    const at = whole.indexOf(disk2) + Math.floor(disk2.length / 2);
    await refused(whole.subarray(0, at), { status: 3, code: "image-rejected", problem: "truncated" });
  });

  it("8. an output that exists: usage, exit 2, the file as it was; with --force it is replaced, and kept if the appliance is refused", async () => {
    const existing = Buffer.from("not to be touched\n");
    const setup = (out: string) => writeFileSync(join(out, "vm-disk2.qcow2"), existing);
    const { plain } = await refused(
      members(),
      { status: 2, code: "usage", message: /vm-disk2\.qcow2 already exists/ },
      { setup },
    );
    assert.doesNotMatch(plain.stderr, /: convert/, "refused before any disk is converted");
    const victim = join(dir, "victim");
    writeFileSync(victim, existing);
    const link = (out: string) => symlinkSync(victim, join(out, "vm-disk1.qcow2"));
    const usage = { status: 2, code: "usage", message: /vm-disk1\.qcow2 is not a regular file/ };
    await refused(members(), usage, { setup: link, args: ["--force"] });
    assert.deepEqual(readFileSync(victim), existing);
    await refused(
      members(undefined, [3 * MiB, 2 * MiB]),
      { status: 3, code: "format-mismatch", problem: "format-mismatch" },
      { setup, args: ["--force"] },
    );
    const { name, out } = await place(members());
    setup(out);
    const run = diskpipe(["--config", config, "convert", name, out, "--to", "qcow2", "--force"], { cwd });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(readdirSync(out).sort(), ["vm-disk1.qcow2", "vm-disk2.qcow2", "vm.ovf.json"]);
    assert.ok(sameDisk(disks[1]!.raw, "raw", join(out, "vm-disk2.qcow2"), "qcow2"), "disk 2 was not replaced");
    assert.deepEqual(leftInWork(), []);
  });

  it("--max-size below a disk's capacity: disk-too-large, exit 3", async () => {
    const message = /capacity of 3145728 bytes, more than the 2097152 allowed/;
    await refused(
      members(),
      { status: 3, code: "image-rejected", problem: "disk-too-large", message },
      { args: ["--max-size", "2M"] },
    );
  });

  it("9. a URL destination for an appliance: usage, exit 2", async () => {
    await refused(
      members(),
      { status: 2, code: "usage", message: /go to a local directory/ },
      { destination: () => "http://127.0.0.1:9/out/" },
    );
  });
});
