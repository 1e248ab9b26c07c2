import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_MANIFEST_BYTES, parseManifest } from "../../../src/plugins/ova/manifest.ts";
import { refusedBy } from "./refused.ts";

const SHA1 = "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3";
const SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const SHA512 =
  "ee26b0dd4af7e749aa1a8ee3c10ae9923f618980772e473f8819a5d4940e0db27ac185f8a0e1d5f84f88bc887fd67b143732c304cc5fa9ad8e6f57f50028a8ff";

const refused = (text: string, code: string, message: string) => refusedBy(parseManifest, text, code, message);

const notALine = (line: number) => `manifest line ${line} is not "SHA256(member)= digest"`;

describe("OVF manifest lines", () => {
  it("reads each algorithm, lower-casing the digest, with any blanks around '='", () => {
    const text = [
      `SHA1(a.vmdk)=${SHA1.toUpperCase()}`,
      `  SHA256(b (1).vmdk) =  ${SHA256.slice(0, 32).toUpperCase()}${SHA256.slice(32)}  `,
      `SHA512(c.ovf)\t=\t${SHA512}\r`,
    ].join("\n");
    assert.deepEqual(
      [...parseManifest(text)],
      [
        ["a.vmdk", { algorithm: "sha1", digest: SHA1 }],
        ["b (1).vmdk", { algorithm: "sha256", digest: SHA256 }],
        ["c.ovf", { algorithm: "sha512", digest: SHA512 }],
      ],
    );
    assert.equal(parseManifest("").size, 0);
    assert.equal(parseManifest("\n\r\n  \n").size, 0);
  });

  it("refuses a line with anything before or after, another algorithm, or the wrong length, by its number", () => {
    const good = `SHA1(a.vmdk)= ${SHA1}`;
    const cases = [
      `x${good}`,
      `${good} trailing`,
      `${good}g`,
      `sha1(b.vmdk)= ${SHA1}`,
      `SHA384(b.vmdk)= ${SHA256}`,
      `MD5(b.vmdk)= ${SHA1.slice(0, 32)}`,
      `SHA1(b.vmdk)= ${SHA1}0`,
      `SHA1(b.vmdk)= ${SHA1.slice(1)}`,
      `SHA256(b.vmdk)= ${SHA1}`,
      `SHA512(b.vmdk)= ${SHA256}`,
      `SHA256(b.vmdk)= ${SHA512}`,
      `SHA1()= ${SHA1}`,
      `SHA1 (b.vmdk)= ${SHA1}`,
      `SHA1(b.vmdk)=`,
    ];
    for (const line of cases) refused(`${good}\n\n${line}\n`, "ova-manifest-invalid", notALine(3));
  });

  it("refuses names that are not member names, with the name quoted", () => {
    refused(`SHA1(a\u0001b)= ${SHA1}`, "ova-href-unsafe", 'the manifest names "a\\u0001b", not a member name');
    // A CR inside a line is no end of line, and no character of a name.
    refused(`SHA1(a\rb)= ${SHA1}`, "ova-manifest-invalid", notALine(1));
    refused(`SHA1(sub/a.vmdk)= ${SHA1}`, "ova-href-unsafe", 'the manifest names "sub/a.vmdk", not a member name');
    refused(`SHA1(.hidden)= ${SHA1}`, "ova-href-unsafe", 'the manifest names ".hidden", not a member name');
  });

  it("refuses a member listed twice, even under two algorithms", () => {
    refused(
      `SHA1(a.vmdk)= ${SHA1}\nSHA256(a.vmdk)= ${SHA256}`,
      "ova-manifest-invalid",
      'the manifest lists "a.vmdk" twice',
    );
  });

  it("takes a manifest of exactly 64 KiB, refuses one byte more", () => {
    const line = `SHA1(a.vmdk)= ${SHA1}\n`;
    const exact = line + "\n".repeat(MAX_MANIFEST_BYTES - line.length);
    assert.equal(Buffer.byteLength(exact), MAX_MANIFEST_BYTES);
    assert.deepEqual([...parseManifest(exact).keys()], ["a.vmdk"]);
    refused(`${exact} `, "ova-manifest-invalid", "the manifest is larger than 65536 bytes");
    // Bytes, not characters.
    const wide = line + "é".repeat((MAX_MANIFEST_BYTES - line.length) / 2 + 1);
    refused(wide, "ova-manifest-invalid", "the manifest is larger than 65536 bytes");
  });
});
