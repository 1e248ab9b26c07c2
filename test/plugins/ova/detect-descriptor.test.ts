import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { openFileReader } from "../../../src/core/io/reader.ts";
import { detectOvfDescriptor } from "../../../src/plugins/ova/detect.ts";
import { tempDir } from "../../helpers/images.ts";
import { vmwareOvf } from "./fixtures.ts";

describe("detectOvfDescriptor: XML opening an OVF Envelope", () => {
  const { dir, cleanup } = tempDir("diskpipe-ovf-detect-");
  after(cleanup);
  let count = 0;
  const detect = async (text: string | Buffer) => {
    const path = join(dir, `f${++count}`);
    writeFileSync(path, text);
    const reader = await openFileReader(path);
    try {
      return await detectOvfDescriptor(reader);
    } finally {
      await reader.close();
    }
  };
  const found = { format: "ovf-descriptor", problems: [], details: {} };
  const ns = 'xmlns="http://schemas.dmtf.org/ovf/envelope/1"';

  it("finds a descriptor as VMware writes it, and with a BOM, leading space or a prefixed Envelope", async () => {
    assert.deepEqual(await detect(vmwareOvf([{ href: "d.vmdk", capacityGiB: 1 }])), found);
    assert.deepEqual(
      await detect(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`<Envelope ${ns}>`)])),
      found,
    );
    assert.deepEqual(await detect(`\n  <Envelope\n${ns}/>`), found);
    assert.deepEqual(
      await detect(`<?xml version="1.0"?><ovf:Envelope xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/2">`),
      found,
    );
  });

  it("leaves alone other XML, an Envelope of another namespace, and text that is not XML", async () => {
    assert.equal(await detect(`<?xml version="1.0"?><domain type="kvm"></domain>`), null);
    assert.equal(await detect(`<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/">`), null);
    assert.equal(await detect(`<EnvelopeX ${ns}>`), null);
    assert.equal(await detect(`text <Envelope ${ns}>`), null);
    assert.equal(await detect(""), null);
  });

  it("looks only at the first 4 KiB", async () => {
    assert.equal(await detect(`${" ".repeat(4096)}<Envelope ${ns}>`), null);
  });
});
