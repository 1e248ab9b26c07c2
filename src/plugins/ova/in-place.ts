import { open } from "node:fs/promises";
import { quote, type ImageRegion } from "../../plugin-api.ts";
import { OvaRefusal } from "./refusal.ts";

/** Bytes at each end of a member compared with the archive file once it has streamed by. */
const EDGE = 64 * 1024;

/**
 * A disk file stored plainly in the archive (neither gzip-compressed nor chunked), left where
 * it lies: the disk is the byte range of the archive that holds the member, and nothing is
 * copied. Its bytes still stream by (the manifest digest is taken over them); its first and
 * last 64 KiB are kept and, at the end, compared with what the archive file holds at that
 * range, so a wrong offset can never hand qemu-img other bytes than the ones that were checked.
 *
 * @example
 * ```ts
 * declare const chunk: Uint8Array;
 * const disk = new InPlaceDisk("/work/job/vm.ova", "vm-disk1.vmdk", { offset: 3072, length: 65536 }, 2 ** 34);
 * disk.write(chunk);
 * await disk.finish();
 * ```
 */
export class InPlaceDisk {
  readonly path: string;
  readonly region: ImageRegion;
  readonly #name: string;
  #seen = 0;
  #head: Buffer[] = [];
  #headBytes = 0;
  /** The last chunks, at least {@link EDGE} bytes of them once that many have passed. */
  #tail: Uint8Array[] = [];
  #tailBytes = 0;

  /** `limit`: the most bytes the disk's file may have (from its capacity); a larger member is refused at once. */
  constructor(archive: string, name: string, region: ImageRegion, limit: number) {
    if (region.length > limit)
      throw new OvaRefusal(
        "disk-too-large",
        `${quote(name)} is ${region.length} bytes, more than its capacity allows (${limit})`,
      );
    this.path = archive;
    this.region = region;
    this.#name = name;
  }

  /** Takes the next bytes of the member as they stream by. */
  write(chunk: Uint8Array): void {
    this.#seen += chunk.length;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: true and <= only push empty pieces once the head is full (false and >= are killed)
    if (this.#headBytes < EDGE) {
      // Stryker disable next-line ArithmeticOperator: a head of up to 2 EDGE is a longer prefix of the same bytes, same verdict
      const piece = Buffer.from(chunk.subarray(0, EDGE - this.#headBytes));
      this.#head.push(piece);
      this.#headBytes += piece.length;
    }
    this.#tail.push(chunk);
    this.#tailBytes += chunk.length;
    while (
      // Stryker disable next-line ConditionalExpression,EqualityOperator: a last chunk alone is never dropped (its bytes are all the tail has)
      this.#tail.length > 1 &&
      // Stryker disable next-line EqualityOperator,OptionalChaining: keeping one chunk more when exactly EDGE bytes remain is the same tail; the tail holds a chunk here
      this.#tailBytes - (this.#tail[0]?.length ?? 0) >= EDGE
    )
      // Stryker disable next-line OptionalChaining: the tail holds more than one chunk here
      this.#tailBytes -= this.#tail.shift()?.length ?? 0;
  }

  /** Checks that the whole member passed and that the archive holds its ends at the range. */
  async finish(): Promise<void> {
    const { offset, length } = this.region;
    if (this.#seen !== length)
      throw new OvaRefusal(
        "truncated",
        `${quote(this.#name)} holds ${this.#seen} bytes, not the ${length} its header declares`,
      );
    const head = Buffer.concat(this.#head);
    // Stryker disable next-line MethodExpression: the kept chunks (at most EDGE and one chunk) are the member's last bytes: comparing all of them, same verdict
    const tail = Buffer.concat(this.#tail).subarray(-Math.min(EDGE, length));
    const handle = await open(this.path, "r");
    try {
      const [atHead, atTail] = [Buffer.alloc(head.length), Buffer.alloc(tail.length)];
      const [first, last] = await Promise.all([
        handle.read(atHead, 0, head.length, offset),
        handle.read(atTail, 0, tail.length, offset + length - tail.length),
      ]);
      if (
        !atHead.equals(head) ||
        !atTail.equals(tail) ||
        last.bytesRead !== tail.length ||
        // Stryker disable next-line ConditionalExpression: a head read short means the file ends before the range does, so the tail read is short too
        first.bytesRead !== head.length
      )
        throw new OvaRefusal(
          "archive-entry",
          `the archive does not hold ${quote(this.#name)} at bytes ${offset} to ${offset + length}, where its header puts it`,
        );
    } finally {
      await handle.close();
    }
  }
}
