import assert from "node:assert/strict";
import { symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parseSidecar, readSidecar } from "../../src/spool/sidecar.ts";
import { failure } from "../helpers/failure.ts";
import { tempDir } from "../helpers/images.ts";

const SHA256 = `sha256:${"ab".repeat(32)}`;
const SHA512 = `sha512:${"Cd".repeat(64)}`;

/** The message of a sidecar refused as a usage error of the sidecar stage. */
function refusal(text: string): string {
  try {
    parseSidecar(text, "disk.vmdk.json");
  } catch (error) {
    assert.equal((error as { code?: string }).code, "usage");
    assert.equal((error as { stage?: string }).stage, "sidecar");
    return (error as Error).message;
  }
  assert.fail(`accepted ${text}`);
}

describe("parseSidecar: only what a spool user may claim, each field anchored", () => {
  it("takes every field in its valid form", () => {
    const full = {
      from: "vmdk",
      container: "ovf",
      checksum: SHA256,
      maxSize: "10G",
      options: { subformat: "streamOptimized", compress: true, keyId: "tenant-a.v2" },
    };
    assert.deepEqual(parseSidecar(JSON.stringify(full), "x.json"), { ...full, maxSize: 10 * 1024 ** 3 });
    assert.deepEqual(
      parseSidecar(
        JSON.stringify({ from: "qcow2", container: "ova-2", checksum: SHA512, options: { subformat: "x" } }),
        "x.json",
      ),
      {
        from: "qcow2",
        container: "ova-2",
        checksum: SHA512,
        options: { subformat: "x" },
      },
    );
  });

  const invalid: Array<[string, string, unknown[]]> = [
    ["from", "a format name is lower-case letters, digits and dashes", ["-vmdk", "vmdk!", "Vmdk", ""]],
    ["container", "a container name is lower-case letters, digits and dashes", ["-ovf", "ovf/x", "OVF"]],
    [
      "checksum",
      "expected sha256:HEX or sha512:HEX",
      [`x${SHA256}`, `${SHA256}0`, SHA256.slice(0, -1), `sha512:${"g".repeat(128)}`, `${SHA512}0`],
    ],
    ["options.subformat", "a subformat is letters, digits, _ and -", ["../fixed", "fixed/", "x".repeat(41), ""]],
    ["options.compress", "Invalid input: expected boolean, received string", ["yes", "true"]],
    [
      "options.keyId",
      "a key id is letters, digits, ., _ and -, not starting with .",
      [".hidden", "tenant/a", "x".repeat(129)],
    ],
  ];
  for (const [field, message, values] of invalid) {
    it(`refuses a ${field} valid only in part (without its ^ or $), naming the field`, () => {
      for (const value of values) {
        const sidecar = field.startsWith("options.") ? { options: { [field.slice(8)]: value } } : { [field]: value };
        assert.equal(
          refusal(JSON.stringify(sidecar)),
          `bad sidecar disk.vmdk.json: ${field}: ${message}`,
          JSON.stringify(value),
        );
      }
    });
  }

  it("refuses text that is not JSON without quoting it, and a document that is not an object as (root)", () => {
    assert.equal(refusal('{"from": "/etc/shadow'), "bad sidecar disk.vmdk.json: not JSON");
    assert.equal(refusal("[]"), "bad sidecar disk.vmdk.json: (root): Invalid input: expected object, received array");
  });
});

describe("readSidecar: a small regular file or nothing", () => {
  const { dir, cleanup } = tempDir();
  after(cleanup);

  it("reads a sidecar, and has none when the file is missing", async () => {
    writeFileSync(join(dir, "disk.json"), '{"from":"vmdk"}');
    assert.deepEqual(await readSidecar(join(dir, "disk.json"), "disk.json"), { from: "vmdk" });
    assert.equal(await readSidecar(join(dir, "missing.json"), "missing.json"), undefined);
  });

  it("refuses a link and an oversized file as usage errors, saying what they are", async () => {
    symlinkSync(join(dir, "disk.json"), join(dir, "link.json"));
    writeFileSync(join(dir, "huge.json"), Buffer.alloc(64 * 1024 + 1, 0x20));
    for (const [name, what] of [
      ["link.json", "a symbolic link"],
      ["huge.json", "larger than 65536 bytes"],
    ]) {
      const error = await failure(readSidecar(join(dir, name), name));
      assert.equal(error.code, "usage");
      assert.equal(error.stage, "sidecar");
      assert.equal(error.message, `bad sidecar ${name}: it is ${what}, not a regular file`);
    }
  });

  it("fails a sidecar it cannot read as io-failed, naming the errno", async () => {
    writeFileSync(join(dir, "file.json"), "{}");
    const error = await failure(readSidecar(join(dir, "file.json", "x.json"), "x.json"));
    assert.equal(error.code, "io-failed");
    assert.equal(error.stage, "sidecar");
    assert.equal(error.message, "cannot read sidecar x.json: ENOTDIR");
  });
});
