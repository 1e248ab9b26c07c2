import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_MANIFEST_BYTES, parseManifest } from "../../../src/plugins/ova/manifest.ts";

const SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const SHA1 = "A94A8FE5CCB19BA61C4C0873D391E987982FBBD3";

describe("OVF manifest", () => {
  it("reads SHA1, SHA256 and SHA512 lines, with CRLF ends and blank lines", () => {
    const entries = parseManifest(
      `SHA256(vm.ovf)= ${SHA256}\r\n\r\nSHA1(vm-disk1.vmdk)=${SHA1}\nSHA512(b.vmdk) = ${"ab".repeat(64)}\n`,
    );
    assert.deepEqual(
      [...entries],
      [
        ["vm.ovf", { algorithm: "sha256", digest: SHA256 }],
        ["vm-disk1.vmdk", { algorithm: "sha1", digest: SHA1.toLowerCase() }],
        ["b.vmdk", { algorithm: "sha512", digest: "ab".repeat(64) }],
      ],
    );
  });

  it("refuses malformed lines, wrong digest lengths, unsafe names, duplicates and a huge manifest", () => {
    const cases: [string, string, RegExp][] = [
      ["MD5(vm.ovf)= 00", "ova-manifest-invalid", /line 1 is not/],
      [`SHA256(vm.ovf)= ${SHA1}`, "ova-manifest-invalid", /line 1 is not/],
      [`SHA256(vm.ovf) ${SHA256}`, "ova-manifest-invalid", /line 1 is not/],
      [
        `SHA1(a.vmdk)= ${SHA1}\nSHA256(../../etc/shadow)= ${SHA256}`,
        "ova-href-unsafe",
        /"..\/..\/etc\/shadow", not a member name/,
      ],
      [`SHA1(a.vmdk)= ${SHA1}\nSHA1(a.vmdk)= ${SHA1}`, "ova-manifest-invalid", /lists "a.vmdk" twice/],
      [`SHA1(a.vmdk)= ${SHA1}\n`.repeat(2000), "ova-manifest-invalid", new RegExp(`larger than ${MAX_MANIFEST_BYTES}`)],
    ];
    for (const [text, code, message] of cases)
      assert.throws(() => parseManifest(text), { code, message }, text.slice(0, 60));
  });
});
