import {
  asciiField,
  matchAscii,
  qemuLength,
  readAt,
  u16be,
  u32be,
  type Detection,
  type Detector,
  type ImageReader,
  type Problem,
} from "../../plugin-api.ts";

/**
 * The problem codes the LUKS detector reports besides the common `truncated` (stable; scripts
 * match on them).
 */
export const luksProblemCodes = ["luks-version", "luks-corrupt-header", "luks-iterations"] as const;

const problem = (code: (typeof luksProblemCodes)[number] | "truncated", message: string): Problem => ({
  code,
  message,
});

const MAGIC = "LUKS\xba\xbe";
const HEADER_SIZE = 592;
const SECTOR = 512;
const HEADER_SECTORS = Math.ceil(HEADER_SIZE / SECTOR);
const SLOTS = 8;
const SLOT_ENABLED = 0x00ac71f3;
const SLOT_DISABLED = 0x0000dead;
const STRIPES = 4000;
const MAX_KEY_BYTES = 256;
const SLOT_ALIGN = 4096 / SECTOR;
/**
 * PBKDF2 work bounds, in SHA-256 block computations: a slot's iterations times the blocks its
 * key needs (ceil(key bytes / hash bytes)) times the hash's cost relative to SHA-256 (measured
 * on the CI machine with OpenSSL: MD5 1.5, SHA-1 and SHA-224 1, SHA-384/512 2.8, RIPEMD-160
 * 2.9, rounded up below). cryptsetup and qemu calibrate a key slot to 2 s of the creating
 * machine (qemu's default iter-time) and the master-key digest to an eighth of that; this
 * machine computes about 5 million blocks a second, so 2 s is about 10 million. 2^26 per slot
 * or digest leaves room for a machine 6 times faster; a wrong passphrase costs every enabled
 * slot plus a digest each, bounded by 2^28 (under a minute of one core here).
 */
const MAX_WORK = 2 ** 26;
const MAX_TOTAL_WORK = 2 ** 28;
/** LUKS1's master-key digest is 20 bytes whatever the hash. */
const DIGEST_BYTES = 20;
const HASH_COST: Record<string, { bytes: number; cost: number }> = {
  md5: { bytes: 16, cost: 1.5 },
  sha1: { bytes: 20, cost: 1 },
  sha224: { bytes: 28, cost: 1 },
  sha256: { bytes: 32, cost: 1 },
  sha384: { bytes: 48, cost: 3 },
  sha512: { bytes: 64, cost: 3 },
  ripemd160: { bytes: 20, cost: 4 },
};

/** Ciphers qemu 7.2 opens, with their key sizes (bytes, before XTS doubles them). */
const CIPHER_KEYS: Record<string, number[]> = {
  aes: [16, 24, 32],
  serpent: [16, 24, 32],
  twofish: [16, 24, 32],
  cast5: [16],
  sm4: [16],
};
const HASHES = new Set(["md5", "sha1", "sha224", "sha256", "sha384", "sha512", "ripemd160"]);
const MODE = /^(ecb|cbc|xts|ctr)-(plain|plain64|essiv:([a-z0-9]+))$/;

/** The cipher, mode and hash must be ones qemu can set up, or it refuses the image. */
function cipherProblem(cipher: string, mode: string, hash: string, keyBytes: number): string | undefined {
  const m = MODE.exec(mode);
  if (!m) return `cipher mode "${mode}" is not supported`;
  if (m[3] !== undefined && !HASHES.has(m[3])) return `IV hash "${m[3]}" is not supported`;
  if (!HASHES.has(hash)) return `hash "${hash}" is not supported`;
  const keys = CIPHER_KEYS[cipher];
  const key = m[1] === "xts" ? keyBytes / 2 : keyBytes;
  if (!keys || !keys.includes(key)) return `cipher "${cipher}" with a ${keyBytes}-byte key is not supported`;
  return undefined;
}

/** Key-derivation work a hostile header could ask for: every enabled slot is tried, and its digest, when a passphrase does not match. */
function workProblems(head: Uint8Array, hash: string, keyBytes: number): Problem[] {
  const heavy = (why: string) => [
    problem("luks-iterations", `LUKS header asks for too much key-derivation work: ${why}`),
  ];
  // Stryker disable next-line ObjectLiteral: unreachable fallback: this runs only for a hash in HASHES, and HASH_COST has an entry for each
  const { bytes, cost } = HASH_COST[hash] ?? { bytes: 16, cost: 4 };
  const work = (iterations: number, length: number) => iterations * Math.ceil(length / bytes) * cost;
  const digest = work(u32be(head, 164), DIGEST_BYTES);
  if (digest > MAX_WORK) return heavy(`the master-key digest costs ${digest} SHA-256 blocks (at most ${MAX_WORK})`);
  let total = 0;
  // Stryker disable next-line EqualityOperator: a ninth slot would lie past the 592-byte head, where u32be reads 0 (not enabled), so it is skipped
  for (let i = 0; i < SLOTS; i++) {
    const at = 208 + i * 48;
    if (u32be(head, at) !== SLOT_ENABLED) continue;
    const slot = work(u32be(head, at + 4), keyBytes);
    if (slot > MAX_WORK) return heavy(`key slot ${i} costs ${slot} SHA-256 blocks (at most ${MAX_WORK})`);
    total += slot + digest;
  }
  return total > MAX_TOTAL_WORK ? heavy(`${total} SHA-256 blocks over all key slots (at most ${MAX_TOTAL_WORK})`) : [];
}

/** qemu's qcrypto_block_luks_check_header: slots have 4000 stripes and sit between the header and the payload, apart. */
function slotProblems(head: Uint8Array, payloadSector: number, keyBytes: number): Problem[] {
  const corrupt = (why: string) => problem("luks-corrupt-header", `LUKS header is corrupt: ${why}`);
  if (keyBytes === 0 || keyBytes > MAX_KEY_BYTES) return [corrupt(`key size ${keyBytes} is invalid`)];
  if (u32be(head, 164) === 0) return [corrupt("master key iteration count is 0")];
  // qemu rounds key material up to whole 4 KiB, the slot alignment.
  const slotSectors = Math.ceil(Math.ceil((keyBytes * STRIPES) / SECTOR) / SLOT_ALIGN) * SLOT_ALIGN;
  // Stryker disable next-line ArrayDeclaration: a string element destructures into two letters, which compare false with any offset: no overlap is ever found
  const ranges: [number, number][] = [];
  for (let i = 0; i < SLOTS; i++) {
    const at = 208 + i * 48;
    const active = u32be(head, at);
    const keyOffset = u32be(head, at + 40);
    const stripes = u32be(head, at + 44);
    if (active !== SLOT_ENABLED && active !== SLOT_DISABLED) return [corrupt(`key slot ${i} state is invalid`)];
    if (active === SLOT_ENABLED && u32be(head, at + 4) === 0) return [corrupt(`key slot ${i} iteration count is 0`)];
    if (stripes !== STRIPES) return [corrupt(`key slot ${i} has ${stripes} stripes`)];
    if (keyOffset < HEADER_SECTORS) return [corrupt(`key slot ${i} overlaps the header`)];
    if (keyOffset + slotSectors > payloadSector) return [corrupt(`key slot ${i} overlaps the payload`)];
    if (ranges.some(([start, end]) => keyOffset < end && start < keyOffset + slotSectors))
      return [corrupt(`key slot ${i} overlaps another`)];
    ranges.push([keyOffset, keyOffset + slotSectors]);
  }
  return [];
}

async function detectLuks(reader: ImageReader): Promise<Detection | null> {
  const head = await readAt(reader, 0, HEADER_SIZE);
  if (!matchAscii(head, 0, MAGIC)) return null;
  const version = u16be(head, 6);
  if (version !== 1) {
    return {
      format: "luks",
      problems: [problem("luks-version", `LUKS version ${version} is not 1 (the only one qemu 7.2 reads)`)],
      details: { version },
    };
  }
  if (head.length < HEADER_SIZE)
    return { format: "luks", problems: [problem("truncated", "LUKS header is truncated")] };
  const payloadSector = u32be(head, 104);
  const keyBytes = u32be(head, 108);
  const [cipher, mode, hash] = [asciiField(head, 8, 32), asciiField(head, 40, 32), asciiField(head, 72, 32)];
  const problems = slotProblems(head, payloadSector, keyBytes);
  const unsupported = cipherProblem(cipher, mode, hash, keyBytes);
  if (problems.length === 0 && !unsupported) problems.push(...workProblems(head, hash, keyBytes));
  if (unsupported) problems.push(problem("luks-corrupt-header", `LUKS header is unusable: ${unsupported}`));
  const payloadOffset = payloadSector * SECTOR;
  let virtualSize: number | undefined;
  if (problems.length === 0) {
    const fileSize = await reader.size();
    if (payloadOffset > fileSize)
      problems.push(problem("truncated", "LUKS is truncated: the payload starts past the end of the file"));
    else virtualSize = qemuLength(fileSize) - payloadOffset;
  }
  return {
    format: "luks",
    variant: "luks1",
    virtualSize,
    problems,
    details: {
      version,
      cipher,
      cipherMode: mode,
      hash,
      payloadOffset,
    },
  };
}

/**
 * Detects LUKS (version 1, the only one qemu 7.2 opens) and checks its key slots; the virtual
 * size is the file size minus the payload offset, as qemu computes it.
 *
 * @example
 * ```ts
 * const found = await luksDetector.detect(reader, {});
 * found?.details?.cipher; // "aes"
 * ```
 */
export const luksDetector: Detector = { name: "luks", phase: "head", driver: "luks", detect: detectLuks };
