import { UsageError } from "../../plugin-api.ts";

/** qemu's names for a LUKS cipher. */
export interface QemuCipher {
  "cipher-alg": string;
  "cipher-mode": string;
  "ivgen-alg": string;
  "ivgen-hash-alg"?: string;
}

const ALGORITHMS: Record<string, number[]> = {
  aes: [128, 192, 256],
  serpent: [128, 192, 256],
  twofish: [128, 192, 256],
  cast5: [128],
  sm4: [128],
};
const MODES = ["xts", "cbc", "ecb", "ctr"];
const IVGENS = ["plain64", "plain", "essiv"];
const HASHES = ["sha1", "sha224", "sha256", "sha384", "sha512", "ripemd160"];

/**
 * Decodes dm-crypt's `cipher-chainmode-ivmode[:hash]` form into qemu's LUKS options.
 * `keySize` is the block cipher's key size in bits, as in qemu's `aes-256` (cryptsetup counts
 * both XTS halves, so its `--key-size 512` is `256` here).
 *
 * @example
 * ```ts
 * decodeCipher("aes-xts-plain64", 256); // { "cipher-alg": "aes-256", "cipher-mode": "xts", "ivgen-alg": "plain64" }
 * decodeCipher("aes-cbc-essiv:sha256", 128); // { …, "ivgen-alg": "essiv", "ivgen-hash-alg": "sha256" }
 * ```
 */
export function decodeCipher(spec: string, keySize: number): QemuCipher {
  const match = /^([a-z0-9]+)-([a-z0-9]+)-([a-z0-9]+)(?::([a-z0-9]+))?$/.exec(spec.toLowerCase());
  if (!match) throw new UsageError(`invalid cipher "${spec}": expected cipher-chainmode-ivmode, e.g. aes-xts-plain64`);
  const [, algorithm, mode, ivgen, hash] = match;
  const sizes = ALGORITHMS[algorithm];
  if (!sizes)
    throw new UsageError(`unsupported cipher "${algorithm}" (supported: ${Object.keys(ALGORITHMS).join(", ")})`);
  if (!sizes.includes(keySize))
    throw new UsageError(`${algorithm} takes a key size of ${sizes.join(", ")} bits, not ${keySize}`);
  if (!MODES.includes(mode)) throw new UsageError(`unsupported chain mode "${mode}" (supported: ${MODES.join(", ")})`);
  if (!IVGENS.includes(ivgen)) throw new UsageError(`unsupported IV mode "${ivgen}" (supported: ${IVGENS.join(", ")})`);
  if (ivgen === "essiv" && !hash) throw new UsageError(`essiv needs a hash, e.g. ${algorithm}-${mode}-essiv:sha256`);
  if (hash && !HASHES.includes(hash))
    throw new UsageError(`unsupported IV hash "${hash}" (supported: ${HASHES.join(", ")})`);
  if (hash && ivgen !== "essiv") throw new UsageError(`only essiv takes a hash (${spec})`);
  return {
    "cipher-alg": `${algorithm}-${keySize}`,
    "cipher-mode": mode,
    "ivgen-alg": ivgen,
    ...(hash && { "ivgen-hash-alg": hash }),
  };
}
