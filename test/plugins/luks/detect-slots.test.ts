import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DISABLED, ENABLED, SLOT_SECTORS_64, detectLuks, luksSpec, withSlots, type LuksSpec } from "./luks-header.ts";

const MAX_WORK = 2 ** 26;
const MAX_TOTAL_WORK = 2 ** 28;
const corrupt = (why: string) => ({ code: "luks-corrupt-header", message: `LUKS header is corrupt: ${why}` });
const unusable = (why: string) => ({ code: "luks-corrupt-header", message: `LUKS header is unusable: ${why}` });
const heavy = (why: string) => ({
  code: "luks-iterations",
  message: `LUKS header asks for too much key-derivation work: ${why}`,
});

/** The problems the detector reports for a header (in a file 1 MiB past its payload). */
async function problemsOf(spec: LuksSpec): Promise<unknown[]> {
  const found = await detectLuks(spec);
  assert.ok(found, "not detected as LUKS");
  return found.problems;
}

describe("LUKS key slots (qemu's header check)", () => {
  test("the key size: 1 to 256 bytes", async () => {
    assert.deepEqual(await problemsOf(luksSpec({ keyBytes: 0 })), [
      corrupt("key size 0 is invalid"),
      unusable('cipher "aes" with a 0-byte key is not supported'),
    ]);
    // 256 bytes of key make 2000-sector slots: spread them so that only the cipher is left to refuse.
    const slots = luksSpec().slots.map((slot, i) => ({ ...slot, keyOffset: 8 + i * 2000 }));
    const spec = (keyBytes: number) => luksSpec({ keyBytes, slots, payload: 8 + 8 * 2000 });
    assert.deepEqual(await problemsOf(spec(256)), [unusable('cipher "aes" with a 256-byte key is not supported')]);
    assert.deepEqual(await problemsOf(spec(257)), [
      corrupt("key size 257 is invalid"),
      unusable('cipher "aes" with a 257-byte key is not supported'),
    ]);
  });

  test("iteration counts: the digest's and an enabled slot's must not be 0; a disabled slot's may", async () => {
    assert.deepEqual(await problemsOf(luksSpec({ digestIterations: 0 })), [corrupt("master key iteration count is 0")]);
    assert.deepEqual(await problemsOf(withSlots({ 2: { active: ENABLED, iterations: 0 } })), [
      corrupt("key slot 2 iteration count is 0"),
    ]);
    assert.deepEqual(await problemsOf(withSlots({ 0: { active: DISABLED, iterations: 0 } })), []);
    assert.deepEqual(await problemsOf(withSlots({ 7: { active: ENABLED, iterations: 1 } })), []);
  });

  test("a slot state other than enabled or disabled", async () => {
    for (const active of [0, 1, ENABLED + 1, DISABLED - 1, 0xffffffff]) {
      assert.deepEqual(
        await problemsOf(withSlots({ 3: { active } })),
        [corrupt("key slot 3 state is invalid")],
        String(active),
      );
    }
  });

  test("every slot, enabled or not, has exactly 4000 stripes", async () => {
    assert.deepEqual(await problemsOf(withSlots({ 1: { stripes: 3999 } })), [corrupt("key slot 1 has 3999 stripes")]);
    assert.deepEqual(await problemsOf(withSlots({ 0: { stripes: 4001 } })), [corrupt("key slot 0 has 4001 stripes")]);
  });

  test("the first problem found is the one reported, and work is not counted then", async () => {
    const spec = withSlots({ 1: { stripes: 1 }, 4: { active: 7 } }, luksSpec({ digestIterations: 0xffffffff }));
    assert.deepEqual(await problemsOf(spec), [corrupt("key slot 1 has 1 stripes")]);
  });

  test("key material starts at sector 2 at the earliest (after the 592-byte header)", async () => {
    assert.deepEqual(await problemsOf(withSlots({ 0: { keyOffset: 1 } })), [corrupt("key slot 0 overlaps the header")]);
    assert.deepEqual(await problemsOf(withSlots({ 0: { keyOffset: 0 } })), [corrupt("key slot 0 overlaps the header")]);
    assert.deepEqual(await problemsOf(withSlots({ 0: { keyOffset: 2 } })), []);
  });

  test("key material ends at the payload at the latest (64-byte keys: 504 sectors, whole 4 KiB)", async () => {
    const last = 8 + 7 * SLOT_SECTORS_64;
    assert.deepEqual(await problemsOf(luksSpec({ payload: last + SLOT_SECTORS_64 })), []);
    assert.deepEqual(await problemsOf(luksSpec({ payload: last + SLOT_SECTORS_64 - 1 })), [
      corrupt("key slot 7 overlaps the payload"),
    ]);
    assert.deepEqual(await problemsOf(luksSpec({ payload: 0 })), [corrupt("key slot 0 overlaps the payload")]);
  });

  test("32-byte keys take 256 sectors (250 rounded up to whole 4 KiB)", async () => {
    const slots = luksSpec().slots.map((slot, i) => ({ ...slot, keyOffset: 8 + i * 256 }));
    const spec = (payload: number, shift = 0) =>
      luksSpec({
        keyBytes: 32,
        payload,
        slots: slots.map((s, i) => (i === 7 ? { ...s, keyOffset: s.keyOffset - shift } : s)),
      });
    assert.deepEqual(await problemsOf(spec(8 + 8 * 256)), []);
    assert.deepEqual(await problemsOf(spec(8 + 8 * 256 - 1)), [corrupt("key slot 7 overlaps the payload")]);
    assert.deepEqual(await problemsOf(spec(8 + 8 * 256, 1)), [corrupt("key slot 7 overlaps another")]);
  });

  test("slots may touch but not overlap, whichever comes first on disk", async () => {
    assert.deepEqual(await problemsOf(withSlots({ 1: { keyOffset: 8 + SLOT_SECTORS_64 - 1 } })), [
      corrupt("key slot 1 overlaps another"),
    ]);
    assert.deepEqual(await problemsOf(withSlots({ 1: { keyOffset: 8 } })), [corrupt("key slot 1 overlaps another")]);
    // Slot 1 before slot 0: touching is fine, one sector into it is not.
    assert.deepEqual(await problemsOf(withSlots({ 0: { keyOffset: 512 }, 1: { keyOffset: 8 } })), []);
    assert.deepEqual(await problemsOf(withSlots({ 0: { keyOffset: 512 }, 1: { keyOffset: 9 } })), [
      corrupt("key slot 1 overlaps another"),
    ]);
    // A disabled slot's material counts too, and the last slot is compared with all before it.
    assert.deepEqual(await problemsOf(withSlots({ 7: { keyOffset: 8 + 3 * SLOT_SECTORS_64 + 10 } })), [
      corrupt("key slot 7 overlaps another"),
    ]);
  });
});

/**
 * Per-iteration cost in SHA-256 blocks of the 20-byte digest and of a slot's 64-byte key for
 * each hash: ceil(bytes / hash length) × the hash's relative cost.
 */
const UNITS: [hash: string, digest: number, slot: number][] = [
  ["md5", 2 * 1.5, 4 * 1.5],
  ["sha1", 1, 4],
  ["sha224", 1, 3],
  ["sha256", 1, 2],
  ["sha384", 3, 2 * 3],
  ["sha512", 3, 3],
  ["ripemd160", 4, 4 * 4],
];

describe("LUKS key-derivation work", () => {
  test("the digest: at most 2^26 SHA-256 blocks, for each hash", async () => {
    for (const [hash, unit] of UNITS) {
      const most = Math.floor(MAX_WORK / unit);
      assert.deepEqual(await problemsOf(luksSpec({ hash, digestIterations: most })), [], `${hash} ${most}`);
      const cost = (most + 1) * unit;
      assert.deepEqual(
        await problemsOf(luksSpec({ hash, digestIterations: most + 1 })),
        [heavy(`the master-key digest costs ${cost} SHA-256 blocks (at most ${MAX_WORK})`)],
        hash,
      );
    }
  });

  test("one slot: at most 2^26 SHA-256 blocks for its key, for each hash", async () => {
    for (const [hash, , unit] of UNITS) {
      const most = Math.floor(MAX_WORK / unit);
      assert.deepEqual(
        await problemsOf(withSlots({ 0: { iterations: most } }, luksSpec({ hash }))),
        [],
        `${hash} ${most}`,
      );
      const cost = (most + 1) * unit;
      const refused = withSlots({ 0: { iterations: most + 1 } }, luksSpec({ hash }));
      assert.deepEqual(
        await problemsOf(refused),
        [heavy(`key slot 0 costs ${cost} SHA-256 blocks (at most ${MAX_WORK})`)],
        hash,
      );
    }
  });

  test("the key size sets a slot's blocks: 16 bytes of sha256 are one block, 48 are two", async () => {
    const spec = (keyBytes: number, iterations: number) =>
      withSlots({ 5: { active: ENABLED, iterations } }, luksSpec({ keyBytes, mode: "cbc-plain64" }));
    assert.deepEqual(await problemsOf(spec(16, MAX_WORK)), []);
    assert.deepEqual(await problemsOf(spec(16, MAX_WORK + 1)), [
      heavy(`key slot 5 costs ${MAX_WORK + 1} SHA-256 blocks (at most ${MAX_WORK})`),
    ]);
    const xts = (iterations: number) => withSlots({ 5: { active: ENABLED, iterations } }, luksSpec({ keyBytes: 48 }));
    assert.deepEqual(await problemsOf(xts(MAX_WORK / 2)), []);
    assert.deepEqual(await problemsOf(xts(MAX_WORK / 2 + 1)), [
      heavy(`key slot 5 costs ${MAX_WORK + 2} SHA-256 blocks (at most ${MAX_WORK})`),
    ]);
  });

  test("a disabled slot's iterations cost nothing", async () => {
    assert.deepEqual(await problemsOf(withSlots({ 1: { iterations: 0xffffffff }, 7: { iterations: 0xffffffff } })), []);
  });

  test("in all, every enabled slot plus a digest each: at most 2^28 SHA-256 blocks", async () => {
    // sha256, 64-byte keys: a digest iteration is 1 block, a slot iteration 2.
    const digest = 2 ** 20;
    const slot = (MAX_WORK - digest) / 2;
    const enabled = { active: ENABLED, iterations: slot };
    const four = withSlots({ 0: enabled, 1: enabled, 2: enabled, 3: enabled }, luksSpec({ digestIterations: digest }));
    assert.deepEqual(await problemsOf(four), []);
    const over = withSlots({ 3: { iterations: slot + 1 } }, four);
    assert.deepEqual(await problemsOf(over), [
      heavy(`${MAX_TOTAL_WORK + 2} SHA-256 blocks over all key slots (at most ${MAX_TOTAL_WORK})`),
    ]);
    // The digest is counted once per enabled slot: a fifth slot of no work at all still adds one.
    const fifth = withSlots(
      { 6: { active: ENABLED, iterations: 1 } },
      withSlots({ 0: { iterations: slot - digest / 2 } }, four),
    );
    assert.deepEqual(await problemsOf(fifth), [
      heavy(`${MAX_TOTAL_WORK + 2} SHA-256 blocks over all key slots (at most ${MAX_TOTAL_WORK})`),
    ]);
  });

  test("a heavy slot is named even when the slots before it are light", async () => {
    const spec = withSlots({
      0: { iterations: 1 },
      3: { active: ENABLED, iterations: MAX_WORK / 2 + 1 },
      6: { active: ENABLED, iterations: 0xffffffff },
    });
    assert.deepEqual(await problemsOf(spec), [
      heavy(`key slot 3 costs ${MAX_WORK + 2} SHA-256 blocks (at most ${MAX_WORK})`),
    ]);
  });
});
