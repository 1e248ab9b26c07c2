import { createHash, type Hash } from "node:crypto";
import * as crypto from "node:crypto";
import { DiskpipeError, UsageError } from "../errors.ts";

/** The block size of the content hash: 64 KiB (the last block of a disk may be shorter). */
export const BLOCK_SIZE = 64 * 1024;
/** Block digests are spread over this many stream hashes (block index mod 4). */
export const STREAMS = 4;
/** The prefix of a printed content hash. */
export const CONTENT_HASH_PREFIX = "blk-sha256:";

const DIGEST = 32;
/** Zero digests fed to a stream per update: 2048 × 32 bytes. */
const REPEAT = 2048;

type OneShot = (algorithm: string, data: Buffer, encoding: "buffer") => Buffer;
// node:crypto's one-shot `hash` (Node 20.12+) skips the Hash object per block; older runtimes fall back.
const oneShot = (crypto as unknown as { hash?: OneShot }).hash;
const sha256 = (data: Buffer): Buffer =>
  oneShot ? oneShot("sha256", data, "buffer") : createHash("sha256").update(data).digest();

const ZERO_BLOCK = Buffer.alloc(BLOCK_SIZE);
const ZERO_DIGEST = sha256(ZERO_BLOCK);
const ZERO_REPEATED = Buffer.concat(Array.from({ length: REPEAT }, () => ZERO_DIGEST));

/**
 * The content hash of a virtual disk of `size` bytes, fed block by block in order: data blocks
 * with {@link ContentHasher.data}, runs of blocks known to be zero with
 * {@link ContentHasher.zeros} (never hashed: the precomputed digest of a zero block is fed to
 * the streams instead, so holes cost nothing). Block i's sha256 goes to stream i mod 4; the
 * result is the sha256 of the four stream digests in order.
 *
 * @example
 * ```ts
 * const hasher = new ContentHasher(3 * 65536);
 * hasher.data(Buffer.alloc(65536, 1));
 * hasher.zeros(2);
 * console.log(hasher.digest()); // "blk-sha256:…"
 * ```
 */
export class ContentHasher {
  readonly size: number;
  readonly blocks: number;
  readonly #streams: Hash[] = Array.from({ length: STREAMS }, () => createHash("sha256"));
  /** The short last block's zero digest, when the size is not a multiple of the block size. */
  readonly #lastZero: Buffer | undefined;
  #next = 0;
  /** Bytes read and hashed (data blocks that were not all zero). */
  hashedBytes = 0;

  constructor(size: number) {
    if (!Number.isSafeInteger(size) || size < 0) throw new UsageError(`invalid disk size ${size}`);
    this.size = size;
    this.blocks = Math.ceil(size / BLOCK_SIZE);
    const tail = size % BLOCK_SIZE;
    this.#lastZero = tail === 0 ? undefined : sha256(ZERO_BLOCK.subarray(0, tail));
  }

  /** The index of the next block to feed. */
  get position(): number {
    return this.#next;
  }

  /** Feeds `count` blocks that are all zero, without hashing them. */
  zeros(count: number): void {
    if (count <= 0) return;
    this.#check(count);
    let run = count;
    const tailIsZero = this.#lastZero && this.#next + run === this.blocks;
    if (tailIsZero) run--;
    for (let s = 0; s < STREAMS; s++) {
      // Blocks i in [next, next + run) with i mod 4 = s: they follow each other in stream s.
      const first = (s - (this.#next % STREAMS) + STREAMS) % STREAMS;
      let n = first < run ? Math.floor((run - 1 - first) / STREAMS) + 1 : 0;
      for (; n > 0; n -= REPEAT) this.#streams[s].update(ZERO_REPEATED.subarray(0, Math.min(n, REPEAT) * DIGEST));
    }
    this.#next += run;
    if (tailIsZero && this.#lastZero) this.#feed(this.#lastZero);
  }

  /**
   * Feeds the next blocks from `bytes`: whole blocks, the last one short only at the end of the
   * disk. All-zero blocks take the precomputed digest.
   */
  data(bytes: Buffer): void {
    const count = Math.ceil(bytes.length / BLOCK_SIZE);
    this.#check(count);
    const end = this.#next + count === this.blocks ? this.size - this.#next * BLOCK_SIZE : count * BLOCK_SIZE;
    if (bytes.length !== end)
      throw new DiskpipeError(
        "io-failed",
        `content hash: ${bytes.length} bytes at block ${this.#next} are not whole blocks`,
      );
    for (let at = 0; at < bytes.length; at += BLOCK_SIZE) {
      const block = bytes.subarray(at, at + BLOCK_SIZE);
      if (block.length === BLOCK_SIZE ? block.equals(ZERO_BLOCK) : isZero(block)) {
        this.#feed(block.length === BLOCK_SIZE ? ZERO_DIGEST : (this.#lastZero ?? ZERO_DIGEST));
      } else {
        this.hashedBytes += block.length;
        this.#feed(sha256(block));
      }
    }
  }

  /** The result, `blk-sha256:<64 hex>`, once every block was fed. */
  digest(): string {
    if (this.#next !== this.blocks)
      throw new DiskpipeError("io-failed", `content hash: ${this.#next} of ${this.blocks} blocks were fed`);
    const outer = createHash("sha256");
    for (const stream of this.#streams) outer.update(stream.digest());
    return `${CONTENT_HASH_PREFIX}${outer.digest("hex")}`;
  }

  #feed(digest: Buffer): void {
    this.#streams[this.#next % STREAMS].update(digest);
    this.#next++;
  }

  #check(count: number): void {
    if (this.#next + count > this.blocks)
      throw new DiskpipeError("io-failed", `content hash: more than the disk's ${this.blocks} blocks were fed`);
  }
}

function isZero(bytes: Buffer): boolean {
  return bytes.equals(ZERO_BLOCK.subarray(0, bytes.length));
}

/**
 * Parses `blk-sha256:<64 hex>` (case-insensitive), as `--content-hash` takes it.
 *
 * @example
 * ```ts
 * parseContentHash("blk-sha256:" + "ab".repeat(32)); // "blk-sha256:abab…"
 * ```
 */
export function parseContentHash(text: string): string {
  const match = /^blk-sha256:([0-9a-f]{64})$/i.exec(text.trim());
  if (!match) throw new UsageError(`invalid content hash "${text}": expected blk-sha256:<64 hex digits>`);
  return `${CONTENT_HASH_PREFIX}${match[1].toLowerCase()}`;
}
