import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { DiskpipeError, UsageError } from "../errors.ts";

/** Hash algorithms a checksum may name. */
export type HashAlgorithm = "sha256" | "sha512";

/** A parsed `ALGO:HEX` checksum. */
export interface Checksum {
  algorithm: HashAlgorithm;
  hex: string;
}

const LENGTHS: Record<HashAlgorithm, number> = { sha256: 64, sha512: 128 };

/**
 * Parses `sha256:HEX` or `sha512:HEX` (a bare 64- or 128-digit hex is read as sha256/sha512).
 *
 * @example
 * ```ts
 * parseChecksum("sha256:9f86d0…"); // { algorithm: "sha256", hex: "9f86d0…" }
 * ```
 */
export function parseChecksum(text: string): Checksum {
  const match = /^(?:(sha256|sha512):)?([0-9a-f]+)$/i.exec(text.trim());
  const algorithm = (match?.[1]?.toLowerCase() ?? (match?.[2].length === 128 ? "sha512" : "sha256")) as HashAlgorithm;
  if (!match || match[2].length !== LENGTHS[algorithm]) {
    throw new UsageError(`invalid checksum "${text}": expected sha256:<64 hex digits> or sha512:<128 hex digits>`);
  }
  return { algorithm, hex: match[2].toLowerCase() };
}

/**
 * Hashes a file in one streaming pass.
 *
 * @example
 * ```ts
 * const hex = await hashFile("disk.img", "sha256");
 * ```
 */
export async function hashFile(
  path: string,
  algorithm: HashAlgorithm,
  onBytes?: (bytes: number) => void,
  signal?: AbortSignal,
): Promise<string> {
  const hash = createHash(algorithm);
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024, signal })) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
    onBytes?.(bytes);
  }
  return hash.digest("hex");
}

/**
 * Throws `checksum-mismatch` (exit 3) unless `actualHex` equals the expected checksum.
 *
 * @example
 * ```ts
 * assertChecksum(parseChecksum("sha256:ab…"), "ab…");
 * ```
 */
export function assertChecksum(expected: Checksum, actualHex: string): void {
  if (expected.hex !== actualHex.toLowerCase()) {
    throw new DiskpipeError(
      "checksum-mismatch",
      `${expected.algorithm} checksum mismatch: expected ${expected.hex}, got ${actualHex}`,
    );
  }
}
