import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  DEFAULT_CONVERT_LIMITS,
  DEFAULT_LIMITS,
  optionList,
  prlimit,
  qemuOptionValue,
  secretArgs,
  sourceArgs,
} from "../../src/core/qemu-img-args.ts";

describe("qemu-img argv: limits", () => {
  it("prlimit: CPU seconds round up to a whole second, at least one; the address space rounds down", () => {
    assert.deepEqual(prlimit({ cpuSeconds: 3, addressSpace: 1024 }), ["prlimit", "--cpu=3", "--as=1024", "--"]);
    assert.deepEqual(prlimit({ cpuSeconds: 1.2, addressSpace: 2047.9 }), ["prlimit", "--cpu=2", "--as=2047", "--"]);
    assert.deepEqual(prlimit({ cpuSeconds: 0.01, addressSpace: 1 }), ["prlimit", "--cpu=1", "--as=1", "--"]);
    assert.deepEqual(prlimit({ cpuSeconds: 0, addressSpace: 0 }), ["prlimit", "--cpu=1", "--as=0", "--"]);
  });

  it("prlimit: a file-size limit when given, in whole bytes", () => {
    assert.deepEqual(prlimit({ cpuSeconds: 3, addressSpace: 1024, fileSize: 65536.7 }), [
      "prlimit",
      "--cpu=3",
      "--as=1024",
      "--fsize=65536",
      "--",
    ]);
  });

  it("defaults: 8 CPU seconds and 1 GiB for header parsing, a minute and 2 GiB for a conversion", () => {
    assert.deepEqual(DEFAULT_LIMITS, { cpuSeconds: 8, addressSpace: 1024 ** 3 });
    assert.deepEqual(DEFAULT_CONVERT_LIMITS, { cpuSeconds: 60, addressSpace: 2 * 1024 ** 3 });
  });
});

describe("qemu-img argv: qemu's option syntax", () => {
  it("qemuOptionValue: booleans as on/off, numbers as text, every comma doubled", () => {
    assert.equal(qemuOptionValue(true), "on");
    assert.equal(qemuOptionValue(false), "off");
    assert.equal(qemuOptionValue(512), "512");
    assert.equal(qemuOptionValue("a,b,,c"), "a,,b,,,,c");
    assert.equal(qemuOptionValue(""), "");
  });

  it("optionList: key=value pairs joined by single commas, values escaped; empty for no options", () => {
    assert.equal(optionList({ a: 1, b: "x,y", c: true, d: false }), "a=1,b=x,,y,c=on,d=off");
    assert.equal(optionList({}), "");
  });

  it("secretArgs: one file-backed raw secret object per secret, the path escaped", () => {
    assert.deepEqual(secretArgs([]), []);
    assert.deepEqual(
      secretArgs([
        { id: "k1", file: "/keys/a" },
        { id: "k2", file: "/keys/b,c" },
      ]),
      ["--object", "secret,id=k1,file=/keys/a,format=raw", "--object", "secret,id=k2,file=/keys/b,,c,format=raw"],
    );
  });

  it("sourceArgs: -f DRIVER PATH without options; --image-opts with the path as file.filename (escaped) otherwise", () => {
    assert.deepEqual(sourceArgs({ path: "/in,a.qcow2", format: "qcow2", driver: "qcow2", options: {} }), {
      flags: ["-f", "qcow2"],
      name: "/in,a.qcow2",
    });
    assert.deepEqual(
      sourceArgs({ path: "/in,a.luks", format: "luks", driver: "luks", options: { "key-secret": "k" } }),
      {
        flags: ["--image-opts"],
        name: "driver=luks,key-secret=k,file.filename=/in,,a.luks",
      },
    );
  });

  it("sourceArgs: a byte range of a file goes through qemu's raw driver with its offset and size", () => {
    const region = { offset: 3072, length: 65536 };
    assert.deepEqual(sourceArgs({ path: "/w/v,m.ova", format: "vmdk", driver: "vmdk", options: {}, region }), {
      flags: ["--image-opts"],
      name: "driver=vmdk,file.driver=raw,file.offset=3072,file.size=65536,file.file.filename=/w/v,,m.ova",
    });
    assert.deepEqual(
      sourceArgs({ path: "/w/a.img", format: "luks", driver: "luks", options: { "key-secret": "k" }, region }).name,
      "driver=luks,key-secret=k,file.driver=raw,file.offset=3072,file.size=65536,file.file.filename=/w/a.img",
    );
  });
});
