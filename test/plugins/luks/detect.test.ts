import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { luksDetector } from "../../../src/plugins/luks/detect.ts";
import { memoryReader } from "../../core/inspect/readers.ts";
import { detectLuks, luksHeader, luksSpec, withSlots, type LuksSpec } from "./luks-header.ts";

const MiB = 1024 * 1024;
const unusable = (why: string) => ({ code: "luks-corrupt-header", message: `LUKS header is unusable: ${why}` });

/** The problems the detector reports for a header (in a file 1 MiB past its payload). */
async function problemsOf(spec: LuksSpec): Promise<unknown[]> {
  const found = await detectLuks(spec);
  assert.ok(found, "not detected as LUKS");
  return found.problems;
}

describe("LUKS header", () => {
  test("a sound header gives the variant, the size past the payload and the cipher", async () => {
    assert.deepEqual(await detectLuks(luksSpec()), {
      format: "luks",
      variant: "luks1",
      virtualSize: MiB,
      problems: [],
      details: { version: 1, cipher: "aes", cipherMode: "xts-plain64", hash: "sha256", payloadOffset: 4096 * 512 },
    });
  });

  test("anything but the whole magic is not LUKS", async () => {
    const head = luksHeader(luksSpec());
    head[5] = 0xbf;
    assert.equal(await luksDetector.detect(memoryReader(4 * MiB, [{ offset: 0, bytes: head }]), {}), null);
    assert.equal(await luksDetector.detect(memoryReader(5, [{ offset: 0, bytes: luksHeader(luksSpec()) }]), {}), null);
  });

  test("a version other than 1 is refused before anything else is read", async () => {
    for (const version of [0, 2, 0xffff]) {
      assert.deepEqual(await detectLuks(luksSpec({ version, cipher: "rot13", keyBytes: 0 })), {
        format: "luks",
        problems: [{ code: "luks-version", message: `LUKS version ${version} is not 1 (the only one qemu 7.2 reads)` }],
        details: { version },
      });
    }
  });

  test("a header cut short of 592 bytes is truncated; 592 bytes are a whole header", async () => {
    const head = luksHeader(luksSpec());
    assert.deepEqual(await luksDetector.detect(memoryReader(591, [{ offset: 0, bytes: head }]), {}), {
      format: "luks",
      problems: [{ code: "truncated", message: "LUKS header is truncated" }],
    });
    const whole = await luksDetector.detect(memoryReader(592, [{ offset: 0, bytes: head }]), {});
    assert.deepEqual(whole?.problems, [
      { code: "truncated", message: "LUKS is truncated: the payload starts past the end of the file" },
    ]);
    assert.equal(whole.variant, "luks1");
    assert.equal(whole.virtualSize, undefined);
  });

  test("the payload may end the file; one byte short of it is truncated; a partial sector counts whole", async () => {
    const spec = luksSpec();
    const payload = 4096 * 512;
    assert.deepEqual(
      [(await detectLuks(spec, payload))?.virtualSize, (await detectLuks(spec, payload))?.problems],
      [0, []],
    );
    const short = await detectLuks(spec, payload - 1);
    assert.deepEqual(short?.problems, [
      { code: "truncated", message: "LUKS is truncated: the payload starts past the end of the file" },
    ]);
    assert.equal(short.virtualSize, undefined);
    assert.equal((await detectLuks(spec, payload + 1))?.virtualSize, 512);
    assert.equal((await detectLuks(spec, payload + 513))?.virtualSize, 1024);
  });

  test("a header with problems has no virtual size and never asks for the file's size", async () => {
    const head = luksHeader(luksSpec({ cipher: "rot13" }));
    const reader = {
      ...memoryReader(4 * MiB, [{ offset: 0, bytes: head }]),
      size: () => Promise.reject(new Error("size asked for")),
    };
    const found = await luksDetector.detect(reader, {});
    assert.equal(found?.virtualSize, undefined);
    assert.deepEqual(found?.details, {
      version: 1,
      cipher: "rot13",
      cipherMode: "xts-plain64",
      hash: "sha256",
      payloadOffset: 4096 * 512,
    });
  });
});

describe("LUKS ciphers qemu can set up", () => {
  test("accepted: every cipher, mode, IV generator and key size qemu 7.2 opens", async () => {
    const accepted: [string, string, string, number][] = [
      ["aes", "xts-plain64", "sha256", 64],
      ["aes", "xts-plain", "sha1", 32],
      ["aes", "xts-plain64", "sha512", 48],
      ["aes", "cbc-essiv:sha256", "sha256", 32],
      ["aes", "cbc-essiv:ripemd160", "md5", 16],
      ["aes", "ecb-plain", "sha224", 24],
      ["serpent", "ctr-plain64", "sha384", 32],
      ["serpent", "xts-essiv:sha1", "ripemd160", 32],
      ["twofish", "cbc-plain", "sha256", 16],
      ["twofish", "xts-plain64", "sha256", 48],
      ["cast5", "cbc-plain64", "sha256", 16],
      ["sm4", "ecb-essiv:md5", "sha256", 16],
    ];
    for (const [cipher, mode, hash, keyBytes] of accepted) {
      assert.deepEqual(
        await problemsOf(luksSpec({ cipher, mode, hash, keyBytes })),
        [],
        `${cipher}-${mode} ${hash} ${keyBytes}`,
      );
    }
  });

  test("refused: modes outside the list, whole-name matches only", async () => {
    for (const mode of [
      "gcm-plain64",
      "xts-plain641",
      "axts-plain64",
      "xts-",
      "xts-plain32",
      "cbc-essiv:",
      "cbc-essiv:SHA256",
      "cbc-essiv:sha256-x",
      "xts",
      "",
    ]) {
      assert.deepEqual(
        await problemsOf(luksSpec({ mode })),
        [unusable(`cipher mode "${mode}" is not supported`)],
        mode,
      );
    }
  });

  test("refused: an IV hash or a hash qemu does not know", async () => {
    assert.deepEqual(await problemsOf(luksSpec({ mode: "cbc-essiv:whirlpool", keyBytes: 32 })), [
      unusable('IV hash "whirlpool" is not supported'),
    ]);
    assert.deepEqual(await problemsOf(luksSpec({ mode: "cbc-essiv:sha3", hash: "whirlpool", keyBytes: 32 })), [
      unusable('IV hash "sha3" is not supported'),
    ]);
    for (const hash of ["whirlpool", "sha3", "SHA256", ""]) {
      assert.deepEqual(await problemsOf(luksSpec({ hash })), [unusable(`hash "${hash}" is not supported`)], hash);
    }
  });

  test("refused: an unknown cipher or a key size it does not have (XTS halves the key)", async () => {
    const refused: [string, string, number][] = [
      ["rot13", "xts-plain64", 64],
      ["aes", "xts-plain64", 16],
      ["aes", "xts-plain64", 33],
      ["aes", "cbc-plain64", 64],
      ["aes", "cbc-plain64", 8],
      ["cast5", "cbc-plain64", 32],
      ["cast5", "xts-plain64", 64],
      ["sm4", "cbc-plain64", 24],
      ["serpent", "cbc-plain64", 40],
    ];
    for (const [cipher, mode, keyBytes] of refused) {
      const why = `cipher "${cipher}" with a ${keyBytes}-byte key is not supported`;
      assert.deepEqual(await problemsOf(luksSpec({ cipher, mode, keyBytes })), [unusable(why)], why);
    }
  });

  test("an unusable header is not also charged for its key-derivation work", async () => {
    const spec = withSlots(
      { 0: { iterations: 0xffffffff } },
      luksSpec({ cipher: "rot13", digestIterations: 0xffffffff }),
    );
    assert.deepEqual(await problemsOf(spec), [unusable('cipher "rot13" with a 64-byte key is not supported')]);
  });
});
