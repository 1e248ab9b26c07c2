import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { extractAppliance, type ExtractOptions } from "../../../src/plugins/ova/extract.ts";
import { MAX_MANIFEST_BYTES } from "../../../src/plugins/ova/manifest.ts";
import { MAX_DESCRIPTOR_BYTES } from "../../../src/plugins/ova/xml.ts";
import { tarball } from "../../helpers/tar.ts";
import { tempDir } from "../../helpers/images.ts";
import { manifestOf, type Member } from "./archive.ts";
import { vmwareOvf } from "./fixtures.ts";

const KiB = 1024;

/** A one-disk descriptor (its disk file `href`), padded with blank lines to a multiple of 512 bytes. */
function descriptor(href = "d.vmdk"): Buffer {
  const xml = vmwareOvf([{ href, capacityGiB: 1 }]);
  return Buffer.from(xml + "\n".repeat((512 - (Buffer.byteLength(xml) % 512)) % 512));
}

const disk = (href = "d.vmdk"): Member => ({ name: href, data: Buffer.alloc(512, 7) });
const ovf: Member = { name: "vm.ovf", data: descriptor() };

/** The tar of `members`, as the chunks an extractor reads, with `extra` zero bytes after it. */
async function archive(members: Member[], extra = 0): Promise<Buffer> {
  const tar = await tarball(
    members.map(({ name, data }) => ({ header: { name }, data })),
    false,
  );
  return Buffer.concat([tar, Buffer.alloc(extra)]);
}

async function* chunks(bytes: Buffer): AsyncIterable<Uint8Array> {
  for (let at = 0; at < bytes.length; at += 1000) yield new Uint8Array(bytes.subarray(at, at + 1000));
}

describe("extractAppliance: its bounds and messages", () => {
  const { dir, cleanup } = tempDir("diskpipe-ova-bounds-");
  const work = join(dir, "work");
  before(() => mkdirSync(work));
  after(cleanup);

  async function accepted(members: Member[] | Buffer, options?: ExtractOptions) {
    const bytes = Buffer.isBuffer(members) ? members : await archive(members);
    const appliance = await extractAppliance(chunks(bytes), work, options);
    assert.equal(appliance.disks.length, 1);
    assert.ok(readFileSync(appliance.disks[0].path).equals(Buffer.alloc(512, 7)));
    rmSync(appliance.dir, { recursive: true });
    return appliance;
  }

  async function refused(members: Member[] | Buffer, code: string, message: string | RegExp, options?: ExtractOptions) {
    const bytes = Buffer.isBuffer(members) ? members : await archive(members);
    await assert.rejects(extractAppliance(chunks(bytes), work, options), { code, message });
    assert.deepEqual(readdirSync(work), [], "the work directory is removed");
  }

  it("reads an archive given as chunks of bytes; no manifest: not verified, no certificate", async () => {
    const appliance = await accepted([ovf, disk()]);
    assert.equal(appliance.verified, false);
    assert.equal(appliance.certificate, false);
  });

  it("takes exactly maxEntries members", async () => {
    await accepted([ovf, disk()], { maxEntries: 2 });
    await refused([ovf, disk()], "archive-entry", "the archive holds more than 1 members", { maxEntries: 1 });
  });

  it("takes members that declare exactly maxTotalBytes", async () => {
    const total = ovf.data!.length + 512;
    await accepted([ovf, disk()], { maxTotalBytes: total });
    await refused([ovf, disk()], "archive-entry", `the members declare more than ${total - 1} bytes`, {
      maxTotalBytes: total - 1,
    });
  });

  it("reads at most maxTotalBytes + (maxEntries + 2) KiB of archive", async () => {
    const total = ovf.data!.length + 512;
    const options = { maxTotalBytes: total, maxEntries: 2 };
    const limit = total + 4 * KiB;
    const tar = await archive([ovf, disk()]);
    await accepted(Buffer.concat([tar, Buffer.alloc(limit - tar.length)]), options);
    await refused(
      Buffer.concat([tar, Buffer.alloc(limit + 1 - tar.length)]),
      "archive-entry",
      `the archive is larger than ${limit} bytes`,
      options,
    );
  });

  it("wants the .ovf descriptor first, and no larger than its bound", async () => {
    await refused(
      [{ name: "vm.ovf.txt", data: ovf.data }, disk()],
      "archive-entry",
      'the first member is "vm.ovf.txt", not the .ovf descriptor',
    );
    await refused(
      [{ name: "vm.ovf", data: Buffer.alloc(MAX_DESCRIPTOR_BYTES + 1, 0x20) }],
      "archive-entry",
      `the OVF descriptor is larger than ${MAX_DESCRIPTOR_BYTES} bytes`,
    );
  });

  it("reads a certificate of up to 64 KiB, once", async () => {
    const cert = (length: number): Member => ({ name: "vm.cert", data: Buffer.alloc(length, 0x41) });
    assert.equal((await accepted([ovf, cert(64 * KiB), disk()])).certificate, true);
    await refused(
      [ovf, cert(64 * KiB + 1), disk()],
      "archive-entry",
      `the certificate is larger than ${64 * KiB} bytes`,
    );
    await refused([ovf, cert(10), cert(10)], "archive-entry", /"vm\.cert" appears twice/);
    await refused(
      [ovf, cert(10), { name: "other.cert", data: Buffer.alloc(1) }],
      "archive-entry",
      "the archive holds two certificates",
    );
  });

  it("reads one manifest of up to its bound", async () => {
    const manifest = manifestOf([ovf, disk()]);
    const appliance = await accepted([ovf, { name: "vm.mf", data: manifest }, disk()]);
    assert.equal(appliance.verified, true);
    await refused(
      [ovf, { name: "vm.mf", data: Buffer.alloc(MAX_MANIFEST_BYTES + 1, 0x20) }],
      "archive-entry",
      `the manifest is larger than ${MAX_MANIFEST_BYTES} bytes`,
    );
    await refused(
      [ovf, { name: "vm.mf", data: manifest }, { name: "other.mf", data: manifest }],
      "archive-entry",
      "the archive holds two manifests",
    );
  });

  it("tells a manifest or certificate by the end of its name only", async () => {
    for (const href of ["a.mf.vmdk", "a.cert.vmdk"]) {
      const appliance = await accepted([{ name: "vm.ovf", data: descriptor(href) }, disk(href)]);
      assert.equal(appliance.certificate, false);
    }
    const manifest = { name: "vm.cert.mf", data: manifestOf([ovf, disk()]) };
    const appliance = await accepted([ovf, manifest, disk()]);
    assert.deepEqual([appliance.verified, appliance.certificate], [true, false]);
  });

  it("refuses an archive with no member", async () => {
    await refused([], "archive-entry", "the archive holds no member");
  });

  it("refuses an archive cut short, or not a tar", async () => {
    const tar = await archive([ovf, disk()]);
    await refused(tar.subarray(0, tar.length - 1024 - 100), "truncated", "the archive is cut short");
    await refused(Buffer.alloc(2048, 0x41), "archive-entry", /^not a valid tar archive: /);
  });

  it("keeps its own refusals as they are, whatever their message says", async () => {
    const name = "Invalid header.vmdk";
    await refused(
      [ovf, { name, data: Buffer.alloc(1) }],
      "archive-entry",
      `"${name}" is not a file the descriptor references`,
    );
  });

  it("lets a failure of the source through", async () => {
    const failure = new Error("EIO");
    async function* failing(): AsyncIterable<Uint8Array> {
      yield* chunks(await archive([ovf]));
      throw failure;
    }
    await assert.rejects(extractAppliance(failing(), work), (error) => error === failure);
    assert.deepEqual(readdirSync(work), []);
  });
});
