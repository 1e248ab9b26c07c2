import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeCipher } from "../../../src/plugins/luks/cipher.ts";

describe("decodeCipher", () => {
  it("decodes dm-crypt's cipher-chainmode-ivmode form into qemu's options", () => {
    assert.deepEqual(decodeCipher("aes-xts-plain64", 256), {
      "cipher-alg": "aes-256",
      "cipher-mode": "xts",
      "ivgen-alg": "plain64",
    });
    assert.deepEqual(decodeCipher("serpent-cbc-plain", 128), {
      "cipher-alg": "serpent-128",
      "cipher-mode": "cbc",
      "ivgen-alg": "plain",
    });
    assert.deepEqual(decodeCipher("aes-cbc-essiv:sha256", 128), {
      "cipher-alg": "aes-128",
      "cipher-mode": "cbc",
      "ivgen-alg": "essiv",
      "ivgen-hash-alg": "sha256",
    });
  });

  it("refuses what qemu cannot do with a usage error", () => {
    for (const [spec, size] of [
      ["aes", 256],
      ["aes-xts-plain64", 512],
      ["blowfish-cbc-plain", 128],
      ["aes-gcm-plain64", 256],
      ["aes-cbc-essiv", 256],
      ["aes-cbc-plain:sha256", 256],
    ] as const) {
      assert.throws(() => decodeCipher(spec, size), { code: "usage" }, `${spec} ${size}`);
    }
  });
});
